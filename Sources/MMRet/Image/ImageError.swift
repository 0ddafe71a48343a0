import Foundation

/// A failure to read, decode or preprocess one image file.
///
/// `description` names the file and the reason, so a caller can print it as it is.
public struct ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Reason: Equatable, Sendable {
        /// The file could not be opened or read; the payload is the system's message.
        case unreadable(String)
        /// The file has no bytes.
        case empty
        /// The file is an image in a format this package does not decode (the payload names it).
        case unsupportedFormat(String)
        /// The first bytes match no image format.
        case notAnImage
        /// The header declares a width or height of zero.
        case zeroSize
        /// width * height exceeds `ImageDecodingOptions.maximumPixelCount`.
        case tooManyPixels(width: Int, height: Int, maximum: Int)
        /// The data ends before the image does.
        case truncated
        /// The decoder rejected the data; the payload is its message.
        case invalidData(String)
        /// A valid file uses a feature this package does not decode (the payload names it).
        case unsupportedFeature(String)
        /// A pixel buffer could not be allocated.
        case outOfMemory
    }

    /// The path of the image file, as the caller gave it.
    public var path: String
    public var reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .unreadable(let message):
            return "cannot read image file \(path): \(message)"
        case .empty:
            return "image file \(path) is empty"
        case .unsupportedFormat(let format):
            return "image file \(path) is \(format), an unsupported format; convert it to JPEG, PNG, WebP, GIF or BMP"
        case .notAnImage:
            return "file \(path) is not an image: its first bytes match no JPEG, PNG, WebP, GIF or BMP signature"
        case .zeroSize:
            return "image file \(path) has a width or height of zero"
        case .tooManyPixels(let width, let height, let maximum):
            return "image file \(path) is \(width)x\(height), more than the maximum of \(maximum) pixels; "
                + "raise the maximum pixel count if the file is trusted"
        case .truncated:
            return "image file \(path) is truncated"
        case .invalidData(let message):
            return "image file \(path) is invalid: \(message)"
        case .unsupportedFeature(let feature):
            return "image file \(path) uses \(feature), which is not supported"
        case .outOfMemory:
            return "out of memory while decoding image file \(path)"
        }
    }
}
