import Foundation
import Testing
@testable import MMRet

/// pixel_values against transformers' CLIPImageProcessor (with Pillow) on the golden images.
struct ImagePreprocessorTests {
    @Test func manifestListsEveryFormat() {
        let formats = Set(ImageFixtures.manifest.cases.map(\.format))
        #expect(formats == ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
        #expect(ImageFixtures.manifest.cases.count >= 60)
        #expect(ImageFixtures.manifest.resample.count == 28)
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

    /// Computing a window must give the same pixels as cropping the full resize, in both
    /// pass orders (90x20 runs the vertical pass first).
    @Test(arguments: [(150, 120, 30..<101, 17..<90), (90, 20, 11..<77, 3..<18)])
    func windowMatchesFullResize(_ width: Int, _ height: Int, _ columns: Range<Int>, _ rows: Range<Int>) throws {
        let source = try ImageDecoder.decode(
            fileAt: ImageFixtures.url("inputs/resample-source-97x83.png"), options: ImageDecodingOptions()
        )
        let full = ImageResampler.resize(source, width: width, height: height, filter: .bicubic, window: (0..<width, 0..<height))
        let window = ImageResampler.resize(source, width: width, height: height, filter: .bicubic, window: (columns, rows))
        var cropped: [UInt8] = []
        for row in rows {
            cropped += full[(row * width + columns.lowerBound) * 3..<(row * width + columns.upperBound) * 3]
        }
        #expect(window == cropped)
    }

    @Test func outputSizeFollowsConfig() throws {
        let base = try ImagePreprocessor(modelDirectory: ImageFixtures.config("clip-base"))
        #expect(base.height == 224)
        #expect(base.width == 224)
        #expect(base.valuesPerImage == 3 * 224 * 224)
        let exact = try ImagePreprocessor(modelDirectory: ImageFixtures.config("exact-size"))
        #expect(exact.height == 160)
        #expect(exact.width == 192)
        let legacy = try ImagePreprocessor(modelDirectory: ImageFixtures.config("legacy-bilinear"))
        #expect(legacy.height == 56)
        #expect(legacy.width == 56)
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

/// preprocessor_config.json parsing: transformers' key forms, defaults and invalid values.
struct ImageProcessorConfigTests {
    private func config(_ json: String) throws(ConfigError) -> ImageProcessorConfig {
        let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
        return try ImageProcessorConfig(json: object, path: "preprocessor_config.json")
    }

    private func error(_ json: String) -> ConfigError? {
        do {
            _ = try config(json)
            return nil
        } catch {
            return error
        }
    }

    @Test func emptyConfigUsesTransformersDefaults() throws {
        let defaults = try config("{}")
        #expect(defaults.size == .shortestEdge(224))
        #expect(defaults.cropHeight == 224)
        #expect(defaults.cropWidth == 224)
        #expect(defaults.resample == .bicubic)
        #expect(defaults.rescaleFactor == 1.0 / 255.0)
        #expect(defaults.imageMean == [0.48145466, 0.4578275, 0.40821073])
        #expect(defaults.imageStd == [0.26862954, 0.26130258, 0.27577711])
        #expect(defaults.doResize)
        #expect(defaults.doCenterCrop)
        #expect(defaults.doRescale)
        #expect(defaults.doNormalize)
    }

    @Test func sizeFormsFollowGetSizeDict() throws {
        #expect(try config("{\"size\": 300}").size == .shortestEdge(300))
        #expect(try config("{\"size\": [200, 180]}").size == .exact(height: 200, width: 180))
        #expect(try config("{\"size\": {\"height\": 5, \"width\": 7}}").size == .exact(height: 5, width: 7))
        let square = try config("{\"crop_size\": 96}")
        #expect(square.cropHeight == 96)
        #expect(square.cropWidth == 96)
    }

    @Test func resizedSizeTruncatesLongSide() throws {
        let base = try config("{}")
        #expect(base.resizedSize(width: 301, height: 225) == (width: 299, height: 224))
        #expect(base.resizedSize(width: 225, height: 301) == (width: 224, height: 299))
        #expect(base.resizedSize(width: 3, height: 500) == (width: 224, height: 37333))
        #expect(base.resizedSize(width: 224, height: 224) == (width: 224, height: 224))
    }

    @Test func invalidValuesNameTheKey() {
        #expect(error("{\"resample\": 0}")?.key == "resample")
        #expect(error("{\"resample\": 8}")?.key == "resample")
        #expect(error("{\"size\": {\"longest_edge\": 5}}")?.key == "size")
        #expect(error("{\"size\": 0}")?.key == "size")
        #expect(error("{\"crop_size\": {\"shortest_edge\": 5}}")?.key == "crop_size")
        #expect(error("{\"image_mean\": [0.5, 0.5]}")?.key == "image_mean")
        #expect(error("{\"image_std\": [0.5, 0, 0.5]}")?.key == "image_std")
        #expect(error("{\"do_resize\": \"yes\"}")?.key == "do_resize")
        #expect(error("{\"do_center_crop\": false}")?.key == "do_center_crop")
    }

    @Test func zeroAndOneAreNumbers() throws {
        let parsed = try config("{\"image_mean\": [0, 0, 0], \"image_std\": [1, 1, 1], \"resample\": 1, \"rescale_factor\": 1, \"crop_size\": 1}")
        #expect(parsed.imageMean == [0, 0, 0])
        #expect(parsed.imageStd == [1, 1, 1])
        #expect(parsed.resample == .lanczos)
        #expect(parsed.rescaleFactor == 1)
        #expect(parsed.cropHeight == 1)
    }

    @Test func configBuiltInCodeIsValidated() throws {
        var shortMean = ImageProcessorConfig()
        shortMean.imageMean = [0.5]
        #expect(throws: ConfigError.self) { try ImagePreprocessor(config: shortMean) }
        var uncropped = ImageProcessorConfig()
        uncropped.doCenterCrop = false
        #expect(throws: ConfigError.self) { try ImagePreprocessor(config: uncropped) }
        var zeroCrop = ImageProcessorConfig()
        zeroCrop.cropWidth = 0
        #expect(throws: ConfigError.self) { try ImagePreprocessor(config: zeroCrop) }
        #expect(try ImagePreprocessor(config: ImageProcessorConfig()).valuesPerImage == 3 * 224 * 224)
    }

    @Test func exactSizeWithoutCropIsAccepted() throws {
        let exact = try config("{\"do_center_crop\": false, \"size\": {\"height\": 32, \"width\": 48}}")
        #expect(exact.outputSize == (height: 32, width: 48))
    }
}
