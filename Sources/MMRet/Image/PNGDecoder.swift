import CImageCodecShims

/// PNG through Debian's libpng, reduced to 8 bits a sample the way Pillow reads PNG files.
///
/// 16-bit samples keep their high byte, which is what Pillow does for RGB, RGBA and grey+alpha.
/// For 16-bit grey Pillow instead opens an `I;16` image whose `convert("RGB")` clips every
/// value above 255 to white. This decoder takes the high byte there too, on purpose.
enum PNGDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, maximumPixelCount: Int) throws(ImageError) -> RGBImage {
        // IHDR must come first. Its size is checked here because libpng reads on to the first
        // IDAT chunk before it reports the header, and a file without one would read as
        // truncated instead of too large.
        let reader = ByteReader(bytes: bytes)
        if let width = reader.uint32(at: 16), let height = reader.uint32(at: 20),
           bytes.count >= 24, Array(bytes[12..<16]) == Array("IHDR".utf8)
        {
            try ImageDecoder.checkSize(
                width: Int(width.byteSwapped), height: Int(height.byteSwapped), maximumPixelCount: maximumPixelCount, path: path
            )
        }

        var decoded = mmret_decoded_image()
        let status = mmret_png_decode(
            bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, UInt64(maximumPixelCount), &decoded
        )
        defer { mmret_decoded_image_free(&decoded) }
        return try CodecResult.image(from: &decoded, status: status, path: path, maximumPixelCount: maximumPixelCount)
    }
}
