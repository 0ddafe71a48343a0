import Foundation
import Testing
@testable import MMRet

/// pixel_values against transformers' CLIPImageProcessor (with Pillow) on the golden images.
struct ImagePreprocessorTests {
    @Test func manifestListsEveryFormat() {
        let formats = Set(ImageFixtures.manifest.cases.map(\.format))
        #expect(formats == ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
        #expect(ImageFixtures.manifest.cases.count >= 60)
        #expect(ImageFixtures.manifest.resample.count == 15)
    }

    @Test(arguments: ImageFixtures.manifest.cases)
    func pixelValuesMatchReference(_ golden: ImageFixtures.GoldenCase) throws {
        let options = ImageDecodingOptions(appliesEXIFOrientation: golden.appliesEXIFOrientation)
        let preprocessor = try ImagePreprocessor(modelDirectory: ImageFixtures.config(golden.config), options: options)
        let expectedImage = try ImageFixtures.expectedImage(golden.expected)
        #expect(expectedImage.width == preprocessor.width)
        #expect(expectedImage.height == preprocessor.height)

        let expected = ImageFixtures.pixelValues(from: expectedImage, config: preprocessor.config)
        let actual = try preprocessor.pixelValues(fileAt: ImageFixtures.url(golden.input))
        #expect(actual.count == preprocessor.valuesPerImage)
        let worst = ImageFixtures.maximumDifference(actual, expected)
        #expect(worst.value <= 1e-6, "max |difference| \(worst.value) at index \(worst.index): \(actual[max(worst.index, 0)]) vs \(expected[max(worst.index, 0)])")
    }

    @Test(arguments: ImageFixtures.manifest.resample)
    func resamplingMatchesPillow(_ golden: ImageFixtures.ResampleCase) throws {
        let filter = try #require(ResamplingFilter(rawValue: golden.filter))
        let source = try ImageDecoder.decode(fileAt: ImageFixtures.url(golden.input), options: ImageDecodingOptions())
        let expected = try ImageFixtures.expectedImage(golden.expected)
        let actual = ImageResampler.resize(
            source, width: golden.width, height: golden.height, filter: filter,
            window: (0..<golden.width, 0..<golden.height)
        )
        let mismatch = zip(actual, expected.pixels).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(actual.count == expected.pixels.count)
        #expect(mismatch == nil, "first differing sample \(mismatch.map { "\($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "")")
    }

    @Test func windowMatchesFullResize() throws {
        let source = try ImageDecoder.decode(
            fileAt: ImageFixtures.url("inputs/resample-source-97x83.png"), options: ImageDecodingOptions()
        )
        let full = ImageResampler.resize(source, width: 150, height: 120, filter: .bicubic, window: (0..<150, 0..<120))
        let window = ImageResampler.resize(source, width: 150, height: 120, filter: .bicubic, window: (30..<101, 17..<90))
        var cropped: [UInt8] = []
        for row in 17..<90 {
            cropped += full[(row * 150 + 30) * 3..<(row * 150 + 101) * 3]
        }
        #expect(window == cropped)
    }

    @Test func outputSizeFollowsConfig() throws {
        let base = try ImagePreprocessor(modelDirectory: ImageFixtures.config("clip-base"))
        #expect(base.height == 224 && base.width == 224)
        #expect(base.valuesPerImage == 3 * 224 * 224)
        let exact = try ImagePreprocessor(modelDirectory: ImageFixtures.config("exact-size"))
        #expect(exact.height == 160 && exact.width == 192)
        let legacy = try ImagePreprocessor(modelDirectory: ImageFixtures.config("legacy-bilinear"))
        #expect(legacy.height == 56 && legacy.width == 56)
        #expect(legacy.config.resample == .bilinear)
        #expect(legacy.config.size == .shortestEdge(64))
        #expect(legacy.config.doNormalize == false)
    }

    @Test func concurrentCallsMatchSerialOnes() throws {
        let preprocessor = try ImagePreprocessor(modelDirectory: ImageFixtures.config("clip-base"))
        let inputs = ImageFixtures.manifest.cases.filter { $0.config == "clip-base" }.prefix(16).map { ImageFixtures.url($0.input) }
        let serial = try inputs.map { try preprocessor.pixelValues(fileAt: $0) }
        let results = ResultSlots(count: inputs.count)
        DispatchQueue.concurrentPerform(iterations: inputs.count) { index in
            results.set(index, try? preprocessor.pixelValues(fileAt: inputs[index]))
        }
        for index in inputs.indices {
            #expect(results.get(index) == serial[index], "image \(inputs[index].lastPathComponent)")
        }
    }
}

/// Results written from parallel iterations.
private final class ResultSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [[Float]?]

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func set(_ index: Int, _ value: [Float]?) {
        lock.withLock { slots[index] = value }
    }

    func get(_ index: Int) -> [Float]? {
        lock.withLock { slots[index] }
    }
}
