import CImageCodecShims

/// JPEG through Debian's libjpeg-turbo, with the library's default decoding settings.
enum JPEGDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, maximumPixelCount: Int) throws(ImageError) -> RGBImage {
        var decoded = mmret_decoded_image()
        let status = mmret_jpeg_decode(
            bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, UInt64(maximumPixelCount), &decoded
        )
        defer { mmret_decoded_image_free(&decoded) }
        return try CodecResult.image(from: &decoded, status: status, path: path, maximumPixelCount: maximumPixelCount)
    }
}

/// Turns a C shim's status and output into an image or an `ImageError`.
enum CodecResult {
    static func image(
        from decoded: inout mmret_decoded_image, status: Int32, path: String, maximumPixelCount: Int
    ) throws(ImageError) -> RGBImage {
        switch Int(status) {
        case Int(MMRET_DECODE_OK):
            break
        case Int(MMRET_DECODE_TOO_MANY_PIXELS):
            throw ImageError(
                path: path,
                reason: .tooManyPixels(width: Int(decoded.width), height: Int(decoded.height), maximum: maximumPixelCount)
            )
        case Int(MMRET_DECODE_OUT_OF_MEMORY):
            throw ImageError(path: path, reason: .outOfMemory)
        default:
            throw ImageError(path: path, reason: reason(forMessage: message(of: &decoded)))
        }
        let width = Int(decoded.width)
        let height = Int(decoded.height)
        guard width > 0, height > 0, let pixels = decoded.pixels else {
            throw ImageError(path: path, reason: .zeroSize)
        }
        let layout: PixelLayout
        switch Int(decoded.layout) {
        case Int(MMRET_LAYOUT_GREY): layout = .grey
        case Int(MMRET_LAYOUT_GREY_ALPHA): layout = .greyAlpha
        case Int(MMRET_LAYOUT_RGB): layout = .rgb
        case Int(MMRET_LAYOUT_RGBA): layout = .rgba
        case Int(MMRET_LAYOUT_CMYK): layout = .jpegCMYK
        default:
            throw ImageError(path: path, reason: .invalidData("decoder returned an unknown pixel layout \(decoded.layout)"))
        }
        let samples = UnsafeBufferPointer(start: pixels, count: width * height * layout.channels)
        return RGBImage(width: width, height: height, layout: layout, samples: samples)
    }

    private static func message(of decoded: inout mmret_decoded_image) -> String {
        withUnsafeBytes(of: &decoded.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Maps library messages about data that ends early to `.truncated`.
    static func reason(forMessage message: String) -> ImageError.Reason {
        let lowered = message.lowercased()
        if lowered.contains("premature end") || lowered.contains("truncated") || lowered.contains("not enough image data")
            || lowered.contains("unexpected end") || lowered.contains("read error")
        {
            return .truncated
        }
        if lowered.contains("width is zero") || lowered.contains("height is zero") || lowered.contains("empty jpeg image") {
            return .zeroSize
        }
        if message.isEmpty {
            return .invalidData("the decoder gave no reason")
        }
        return .invalidData(message)
    }
}
