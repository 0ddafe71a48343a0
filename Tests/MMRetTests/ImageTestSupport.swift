import Foundation
import Testing
@testable import MMRet

/// The golden image fixtures written by tools/reference/make_image_fixtures.py.
enum ImageFixtures {
    static let root = TestFixtures.root.appendingPathComponent("images")

    struct Manifest: Decodable {
        var cases: [GoldenCase]
        var resample: [ResampleCase]
        var errors: [ErrorCase]
    }

    /// One input, processed with one config, and the reference's uint8 crop for it.
    struct GoldenCase: Decodable, Sendable, CustomTestStringConvertible {
        var input: String
        var config: String
        var appliesEXIFOrientation: Bool
        var expected: String
        var mode: String
        var format: String
        var note: String?

        var testDescription: String { "\(config): \(input)\(appliesEXIFOrientation ? " (EXIF applied)" : "")" }
    }

    /// Pillow's `Image.resize` output for one filter and size.
    struct ResampleCase: Decodable, Sendable, CustomTestStringConvertible {
        var input: String
        var filter: Int
        var width: Int
        var height: Int
        var expected: String

        var testDescription: String { "filter \(filter) to \(width)x\(height)" }
    }

    struct ErrorCase: Decodable, Sendable {
        var input: String
        var reason: String
    }

    static let manifest: Manifest = {
        let url = root.appendingPathComponent("manifest.json")
        do {
            return try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url))
        } catch {
            // An empty manifest would make the parameterised tests vacuous; the count test fails instead.
            return Manifest(cases: [], resample: [], errors: [])
        }
    }()

    static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }

    static func config(_ name: String) -> URL {
        root.appendingPathComponent("configs").appendingPathComponent(name)
    }

    /// Decodes an expected image (lossless WebP) to interleaved RGB samples.
    static func expectedImage(_ relativePath: String) throws -> RGBImage {
        try ImageDecoder.decode(fileAt: url(relativePath), options: ImageDecodingOptions())
    }

    /// Computes pixel_values from a uint8 crop the way transformers does: rescale in float64,
    /// cast to float32, then (value - mean) / std in float32, channels first. Written
    /// separately from the library's lookup table so that the two check each other.
    static func pixelValues(from image: RGBImage, config: ImageProcessorConfig) -> [Float] {
        let plane = image.width * image.height
        var values = [Float](repeating: 0, count: 3 * plane)
        for index in 0..<plane {
            for channel in 0..<3 {
                let sample = image.pixels[index * 3 + channel]
                var value = config.doRescale ? Float(Double(sample) * config.rescaleFactor) : Float(sample)
                if config.doNormalize {
                    value = (value - Float(config.imageMean[channel])) / Float(config.imageStd[channel])
                }
                values[channel * plane + index] = value
            }
        }
        return values
    }

    /// Finds the largest absolute difference and its index, for failure messages.
    static func maximumDifference(_ actual: [Float], _ expected: [Float]) -> (value: Float, index: Int) {
        var worst: (value: Float, index: Int) = (0, -1)
        for index in 0..<min(actual.count, expected.count) {
            let difference = abs(actual[index] - expected[index])
            if !(difference <= worst.value) {
                worst = (difference.isNaN ? .infinity : difference, index)
            }
        }
        return worst
    }
}
