import CImageCodecs

/// WebP (lossy, lossless, animated) through Debian's libwebp.
///
/// Pillow decodes every WebP file with libwebp's animation decoder in RGBA and keeps the
/// first frame's canvas. This decoder does the same, then drops alpha without compositing.
enum WebPDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, maximumPixelCount: Int) throws(ImageError) -> RGBImage {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw ImageError(path: path, reason: .empty)
        }

        // The RIFF header stores the file size minus 8. libwebp's demuxer rejects a shorter
        // file without saying why, so the length is checked here to report truncation.
        let reader = ByteReader(bytes: bytes)
        if let riffSize = reader.uint32(at: 4), bytes.count < Int(riffSize) + 8 {
            throw ImageError(path: path, reason: .truncated)
        }

        // The animation decoder allocates its canvas when it is created, so the size is
        // checked first from the header alone.
        var features = WebPBitstreamFeatures()
        let status = WebPGetFeatures(base, bytes.count, &features)
        switch status {
        case VP8_STATUS_OK:
            break
        case VP8_STATUS_NOT_ENOUGH_DATA:
            throw ImageError(path: path, reason: .truncated)
        case VP8_STATUS_UNSUPPORTED_FEATURE:
            throw ImageError(path: path, reason: .unsupportedFeature("a WebP feature libwebp cannot decode"))
        default:
            throw ImageError(path: path, reason: .invalidData("invalid WebP header (libwebp status \(status.rawValue))"))
        }
        try ImageDecoder.checkSize(
            width: Int(features.width), height: Int(features.height), maximumPixelCount: maximumPixelCount, path: path
        )

        var options = WebPAnimDecoderOptions()
        guard WebPAnimDecoderOptionsInit(&options) != 0 else {
            throw ImageError(path: path, reason: .invalidData("libwebp version mismatch"))
        }
        options.color_mode = MODE_RGBA
        options.use_threads = 0
        var data = WebPData(bytes: base, size: bytes.count)
        guard let decoder = WebPAnimDecoderNew(&data, &options) else {
            throw ImageError(path: path, reason: .invalidData("libwebp could not parse the file"))
        }
        defer { WebPAnimDecoderDelete(decoder) }

        var info = WebPAnimInfo()
        guard WebPAnimDecoderGetInfo(decoder, &info) != 0 else {
            throw ImageError(path: path, reason: .invalidData("libwebp could not read the canvas size"))
        }
        let width = Int(info.canvas_width)
        let height = Int(info.canvas_height)
        try ImageDecoder.checkSize(width: width, height: height, maximumPixelCount: maximumPixelCount, path: path)

        var frame: UnsafeMutablePointer<UInt8>?
        var timestamp: Int32 = 0
        guard WebPAnimDecoderGetNext(decoder, &frame, &timestamp) != 0, let frame else {
            throw ImageError(path: path, reason: .invalidData("libwebp could not decode the first frame (the file may be truncated)"))
        }
        let samples = UnsafeBufferPointer(start: frame, count: width * height * 4)
        return RGBImage(width: width, height: height, layout: .rgba, samples: samples)
    }
}
