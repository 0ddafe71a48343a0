import Foundation
import Testing
@testable import MMRet

/// Decoding failures: each bad input gives its own error that names the file.
///
/// A class, so that each test's temporary directory is removed when its instance goes away.
final class ImageDecoderTests {
    private let directory: URL

    init() throws {
        directory = try TestFixtures.temporaryDirectory()
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    private func temporaryFile(_ bytes: [UInt8], name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    private func fixtureBytes(_ relativePath: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: ImageFixtures.url(relativePath)))
    }

    private func decodeError(_ url: URL, options: ImageDecodingOptions = ImageDecodingOptions()) -> ImageError? {
        do {
            _ = try ImageDecoder.decode(fileAt: url, options: options)
            return nil
        } catch {
            return error
        }
    }

    @Test func emptyFileIsRejected() throws {
        let url = try temporaryFile([], name: "empty.jpg")
        #expect(decodeError(url) == ImageError(path: url.path, reason: .empty))
    }

    @Test func textFileIsNotAnImage() throws {
        let url = try temporaryFile(Array("just some text\n".utf8), name: "notes.png")
        #expect(decodeError(url) == ImageError(path: url.path, reason: .notAnImage))
    }

    @Test func missingFileIsUnreadable() throws {
        let url = directory.appendingPathComponent("absent.jpg")
        let error = try #require(decodeError(url))
        guard case .unreadable = error.reason else {
            Issue.record("expected .unreadable, got \(error)")
            return
        }
        #expect(error.description.contains(url.path))
    }

    @Test func directoryIsUnreadable() throws {
        #expect(decodeError(directory) == ImageError(path: directory.path, reason: .unreadable("it is a directory, not an image file")))
    }

    @Test(arguments: [
        "inputs/jpeg-420-267x200.jpg", "inputs/jpeg-progressive-120x90.jpg", "inputs/png-rgb-224x224.png",
        "inputs/png-interlaced-rgb-98x86.png", "inputs/webp-lossy-104x80.webp", "inputs/gif-interlaced-100x80.gif",
        "inputs/bmp-rgb24-92x84.bmp",
    ])
    func truncatedFileIsRejected(_ input: String) throws {
        let bytes = try fixtureBytes(input)
        let url = try temporaryFile(Array(bytes.prefix(bytes.count * 2 / 3)), name: "cut-" + (input as NSString).lastPathComponent)
        #expect(decodeError(url) == ImageError(path: url.path, reason: .truncated))
    }

    @Test func zeroWidthPNGIsRejected() throws {
        let url = ImageFixtures.url("errors/zero-width.png")
        #expect(decodeError(url) == ImageError(path: url.path, reason: .zeroSize))
    }

    @Test func zeroHeightBMPIsRejected() throws {
        var bytes = try fixtureBytes("inputs/bmp-rgb24-92x84.bmp")
        // BITMAPINFOHEADER height, a little-endian Int32 at byte 22.
        bytes.replaceSubrange(22..<26, with: [0, 0, 0, 0])
        let url = try temporaryFile(bytes, name: "zero-height.bmp")
        #expect(decodeError(url) == ImageError(path: url.path, reason: .zeroSize))
    }

    @Test func oversizedHeaderIsRejectedBeforeDecoding() throws {
        let url = ImageFixtures.url("errors/oversized-header.png")
        let expected = ImageError(
            path: url.path,
            reason: .tooManyPixels(width: 100_000, height: 100_000, maximum: ImageDecodingOptions.defaultMaximumPixelCount)
        )
        #expect(decodeError(url) == expected)
    }

    @Test(arguments: [
        ("inputs/jpeg-420-267x200.jpg", 267, 200), ("inputs/png-rgb-224x224.png", 224, 224),
        ("inputs/webp-animated-92x84.webp", 92, 84), ("inputs/gif-animated-88x96.gif", 88, 96),
        ("inputs/bmp-rgb24-92x84.bmp", 92, 84),
    ])
    func pixelLimitAppliesToEveryFormat(_ input: String, _ width: Int, _ height: Int) throws {
        let url = ImageFixtures.url(input)
        let options = ImageDecodingOptions(maximumPixelCount: width * height - 1)
        let expected = ImageError(path: url.path, reason: .tooManyPixels(width: width, height: height, maximum: width * height - 1))
        #expect(decodeError(url, options: options) == expected)
        #expect(decodeError(url, options: ImageDecodingOptions(maximumPixelCount: width * height)) == nil)
    }

    @Test func tiffIsUnsupported() throws {
        let url = ImageFixtures.url("errors/tiff-image.tif")
        #expect(decodeError(url) == ImageError(path: url.path, reason: .unsupportedFormat("TIFF")))
    }

    @Test func avifIsUnsupported() throws {
        let url = ImageFixtures.url("errors/avif-image.avif")
        #expect(decodeError(url) == ImageError(path: url.path, reason: .unsupportedFormat("AVIF")))
    }

    @Test func heicIsUnsupported() throws {
        let header: [UInt8] = [0, 0, 0, 24] + Array("ftypheic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8)
        let url = try temporaryFile(header, name: "photo.jpg")
        let error = decodeError(url)
        #expect(error == ImageError(path: url.path, reason: .unsupportedFormat("HEIF/HEIC")))
        #expect(error?.description.contains(url.path) == true)
    }

    /// Builds a 4x2 RLE8 bitmap with a two-colour palette around `data`.
    private func runLengthBMP(_ data: [UInt8], bitsPerPixel: UInt8 = 8) -> [UInt8] {
        let offset = 14 + 40 + 8
        func little32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        var bytes: [UInt8] = Array("BM".utf8) + little32(offset + data.count) + [0, 0, 0, 0] + little32(offset)
        bytes += little32(40) + little32(4) + little32(2) + [1, 0, bitsPerPixel, 0] + little32(1) + little32(data.count)
        bytes += little32(2835) + little32(2835) + little32(2) + little32(0)
        bytes += [0, 0, 0, 0, 255, 255, 255, 0]
        return bytes + data
    }

    @Test func bmpRunLengthDecodesRows() throws {
        // The bottom row is a run of two index-1 pixels, then end of line. The top row is the
        // absolute run 1, 0, 1, 0.
        let url = try temporaryFile(runLengthBMP([2, 1, 0, 0, 0, 4, 1, 0, 1, 0, 0, 1]), name: "rle.bmp")
        let image = try ImageDecoder.decode(fileAt: url, options: ImageDecodingOptions())
        let red = stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] }
        #expect(red == [255, 0, 255, 0, 255, 255, 0, 0])
    }

    @Test func bmpRunLengthEndingEarlyIsInvalid() throws {
        let url = try temporaryFile(runLengthBMP([2, 1, 0, 1]), name: "short-rle.bmp")
        let expected = ImageError(path: url.path, reason: .invalidData("the BMP run-length data ends before the last row"))
        #expect(decodeError(url) == expected)
    }

    @Test func bmpRunLengthCutShortIsTruncated() throws {
        let url = try temporaryFile(runLengthBMP([2, 1, 0, 0, 2]), name: "cut-rle.bmp")
        #expect(decodeError(url) == ImageError(path: url.path, reason: .truncated))
    }

    @Test func bmpRunLengthAt24BitsIsUnsupported() throws {
        let url = try temporaryFile(runLengthBMP([2, 1, 0, 1], bitsPerPixel: 24), name: "rle24.bmp")
        let expected = ImageError(path: url.path, reason: .unsupportedFeature("BMP run-length compression at 24 bits a pixel"))
        #expect(decodeError(url) == expected)
    }

    @Test func signatureFollowedByGarbageIsInvalid() throws {
        for (name, signature) in [("bad.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] as [UInt8]),
                                  ("bad.jpg", [0xFF, 0xD8, 0xFF, 0xE0]), ("bad.gif", Array("GIF89a".utf8))] {
            let url = try temporaryFile(signature + [UInt8](repeating: 0x5A, count: 64), name: name)
            let error = try #require(decodeError(url), "\(name) decoded")
            #expect(error.path == url.path)
            #expect(error.reason != .notAnImage, "\(name): \(error)")
        }
    }

    /// Every fixture cut at several lengths, or with bytes flipped, must give an image or an
    /// ImageError: never a crash, a hang or an exit from inside a C library.
    @Test func damagedFilesNeverCrash() throws {
        let inputs = Set(ImageFixtures.manifest.cases.map(\.input)).sorted()
        var failures = 0
        for input in inputs {
            let bytes = try fixtureBytes(input)
            var variants: [[UInt8]] = [1, 2, 8, 16, 33, 64, 99].map { Array(bytes.prefix(bytes.count * $0 / 100)) }
            var flipped = bytes
            for index in stride(from: min(40, bytes.count - 1), to: bytes.count, by: max(bytes.count / 25, 1)) {
                flipped[index] ^= 0xA5
            }
            variants.append(flipped)
            for (number, variant) in variants.enumerated() {
                let url = directory.appendingPathComponent("variant-\(number)-" + (input as NSString).lastPathComponent)
                try Data(variant).write(to: url)
                if let error = decodeError(url) {
                    failures += 1
                    #expect(error.path == url.path)
                }
            }
        }
        // Most cut files must be rejected; this also shows the loop ran.
        #expect(failures > inputs.count * 5)
    }

    @Test func errorDescriptionsNameFileAndFix() {
        let error = ImageError(path: "/data/a.png", reason: .tooManyPixels(width: 20_000, height: 20_000, maximum: 178_956_970))
        #expect(error.description == "image file /data/a.png is 20000x20000, more than the maximum of 178956970 pixels; raise the maximum pixel count if the file is trusted")
        #expect(ImageError(path: "/data/b.tif", reason: .unsupportedFormat("TIFF")).description.contains("/data/b.tif"))
        #expect(ImageError(path: "/data/c.jpg", reason: .truncated).description == "image file /data/c.jpg is truncated")
    }

    @Test func exifOrientationIsReadFromJPEG() throws {
        let bytes = try fixtureBytes("inputs/jpeg-exif-rotated-104x80.jpg")
        let orientation = bytes.withUnsafeBytes { EXIFOrientation(jpeg: $0) }
        #expect(orientation == .rotated90Clockwise)
        let plain = try fixtureBytes("inputs/jpeg-420-267x200.jpg")
        #expect(plain.withUnsafeBytes { EXIFOrientation(jpeg: $0) } == nil)
    }

    @Test func exifOrientationTransformsMatchPillow() {
        // A 3x2 image with distinct pixels; each expectation is Pillow's exif_transpose output.
        let image = RGBImage(width: 3, height: 2, pixels: (0..<6).flatMap { [UInt8($0), 0, 0] })
        let expected: [EXIFOrientation: (Int, Int, [UInt8])] = [
            .normal: (3, 2, [0, 1, 2, 3, 4, 5]),
            .mirrored: (3, 2, [2, 1, 0, 5, 4, 3]),
            .rotated180: (3, 2, [5, 4, 3, 2, 1, 0]),
            .flipped: (3, 2, [3, 4, 5, 0, 1, 2]),
            .transposed: (2, 3, [0, 3, 1, 4, 2, 5]),
            .rotated90Clockwise: (2, 3, [3, 0, 4, 1, 5, 2]),
            .transversed: (2, 3, [5, 2, 4, 1, 3, 0]),
            .rotated90CounterClockwise: (2, 3, [2, 5, 1, 4, 0, 3]),
        ]
        for (orientation, (width, height, order)) in expected {
            let turned = orientation.apply(to: image)
            #expect(turned.width == width, "\(orientation)")
            #expect(turned.height == height, "\(orientation)")
            #expect(stride(from: 0, to: turned.pixels.count, by: 3).map { turned.pixels[$0] } == order, "\(orientation)")
        }
    }
}
