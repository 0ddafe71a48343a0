import Foundation

/// Settings for decoding image files.
public struct ImageDecodingOptions: Sendable, Equatable {
    /// Pillow's default `Image.MAX_IMAGE_PIXELS` (about a quarter gigapixel: 1024 * 1024 * 1024 / 4 / 3).
    public static let defaultMaximumPixelCount = 178_956_970

    /// Files whose width * height exceeds this are rejected before any pixel buffer is allocated.
    public var maximumPixelCount: Int
    /// Rotates and flips images as their EXIF orientation tag specifies (JPEG files only).
    /// Off by default because transformers' CLIPImageProcessor does not apply it.
    public var appliesEXIFOrientation: Bool

    public init(maximumPixelCount: Int = defaultMaximumPixelCount, appliesEXIFOrientation: Bool = false) {
        self.maximumPixelCount = maximumPixelCount
        self.appliesEXIFOrientation = appliesEXIFOrientation
    }
}

/// Container formats recognised by their first bytes.
enum ImageFormat: Equatable {
    case jpeg
    case png
    case gif
    case webp
    case bmp
    /// A known image format that is not decoded; the payload is its name.
    case unsupported(String)

    /// Identifies the format from the file's signature, never from its name.
    init?(signature bytes: UnsafeRawBufferPointer) {
        func starts(with prefix: [UInt8], at offset: Int = 0) -> Bool {
            guard bytes.count >= offset + prefix.count else { return false }
            for (index, byte) in prefix.enumerated() where bytes[offset + index] != byte {
                return false
            }
            return true
        }
        let ascii = { (text: String) in Array(text.utf8) }

        if starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if starts(with: ascii("GIF87a")) || starts(with: ascii("GIF89a")) {
            self = .gif
        } else if starts(with: ascii("RIFF")) && starts(with: ascii("WEBP"), at: 8) {
            self = .webp
        } else if starts(with: ascii("BM")) {
            self = .bmp
        } else if starts(with: [0x49, 0x49, 0x2A, 0x00]) || starts(with: [0x4D, 0x4D, 0x00, 0x2A]) {
            self = .unsupported("TIFF")
        } else if starts(with: ascii("ftyp"), at: 4) {
            let brand = bytes.count >= 12 ? String(decoding: bytes[8..<12], as: UTF8.self) : ""
            if brand.hasPrefix("avi") {
                self = .unsupported("AVIF")
            } else if ["heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"].contains(brand) {
                self = .unsupported("HEIF/HEIC")
            } else if brand == "jp2 " {
                self = .unsupported("JPEG 2000")
            } else {
                self = .unsupported("an ISO media file (brand '\(brand)')")
            }
        } else if starts(with: [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || starts(with: [0xFF, 0x4F, 0xFF, 0x51]) {
            self = .unsupported("JPEG 2000")
        } else if starts(with: [0xFF, 0x0A]) || starts(with: [0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20]) {
            self = .unsupported("JPEG XL")
        } else if starts(with: [0x00, 0x00, 0x01, 0x00]) {
            self = .unsupported("ICO")
        } else if starts(with: ascii("8BPS")) {
            self = .unsupported("PSD")
        } else if starts(with: ascii("qoif")) {
            self = .unsupported("QOI")
        } else {
            return nil
        }
    }
}

/// Decodes image files to RGB the way Pillow's `Image.open(path).convert("RGB")` does.
enum ImageDecoder {
    /// Reads and decodes the file at `url`; the first frame of an animation is used.
    static func decode(fileAt url: URL, options: ImageDecodingOptions) throws(ImageError) -> RGBImage {
        let path = url.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ImageError(path: path, reason: .unreadable("it is a directory, not an image file"))
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ImageError(path: path, reason: .unreadable(Self.systemMessage(error)))
        }
        return try decode(data, path: path, options: options)
    }

    /// Decodes an in-memory file; `path` only names it in errors.
    static func decode(_ data: Data, path: String, options: ImageDecodingOptions) throws(ImageError) -> RGBImage {
        let result: Result<RGBImage, ImageError> = data.withUnsafeBytes { bytes in
            Result { () throws(ImageError) -> RGBImage in
                try decode(bytes: bytes, path: path, options: options)
            }
        }
        return try result.get()
    }

    private static func decode(
        bytes: UnsafeRawBufferPointer, path: String, options: ImageDecodingOptions
    ) throws(ImageError) -> RGBImage {
        guard !bytes.isEmpty else {
            throw ImageError(path: path, reason: .empty)
        }
        guard let format = ImageFormat(signature: bytes) else {
            throw ImageError(path: path, reason: .notAnImage)
        }
        let limit = max(0, options.maximumPixelCount)
        var image: RGBImage
        switch format {
        case .jpeg:
            image = try JPEGDecoder.decode(bytes, path: path, maximumPixelCount: limit)
            if options.appliesEXIFOrientation, let orientation = EXIFOrientation(jpeg: bytes) {
                image = orientation.apply(to: image)
            }
        case .png:
            image = try PNGDecoder.decode(bytes, path: path, maximumPixelCount: limit)
        case .gif:
            image = try GIFDecoder.decode(bytes, path: path, maximumPixelCount: limit)
        case .webp:
            image = try WebPDecoder.decode(bytes, path: path, maximumPixelCount: limit)
        case .bmp:
            image = try BMPDecoder.decode(bytes, path: path, maximumPixelCount: limit)
        case .unsupported(let name):
            throw ImageError(path: path, reason: .unsupportedFormat(name))
        }
        return image
    }

    /// Checks a header's dimensions before anything is allocated for its pixels.
    static func checkSize(width: Int, height: Int, maximumPixelCount: Int, path: String) throws(ImageError) {
        guard width > 0, height > 0 else {
            throw ImageError(path: path, reason: .zeroSize)
        }
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, count <= maximumPixelCount else {
            throw ImageError(path: path, reason: .tooManyPixels(width: width, height: height, maximum: maximumPixelCount))
        }
    }

    private static func systemMessage(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if nsError.domain == NSCocoaErrorDomain {
            switch nsError.code {
            case NSFileReadNoSuchFileError: return "no such file"
            case NSFileReadNoPermissionError: return "permission denied"
            default: break
            }
        }
        return nsError.localizedDescription
    }
}
