import CImageCodecs

/// GIF through Debian's giflib: the first frame only, on the logical screen, as Pillow opens it.
///
/// The canvas starts as the frame's transparent index (or index 0 when there is none), the
/// frame is drawn at its offset, and the canvas grows when the frame extends past the screen.
/// Palette lookup then gives RGB, so transparent pixels take their palette colour, as in
/// Pillow's `convert("RGB")`. A file without any colour table is read as greyscale indices.
enum GIFDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, maximumPixelCount: Int) throws(ImageError) -> RGBImage {
        let source = GIFSource(bytes: bytes)
        let unmanaged = Unmanaged.passRetained(source)
        defer { unmanaged.release() }

        var openError: Int32 = 0
        guard let gif = DGifOpen(unmanaged.toOpaque(), readGIFBytes, &openError) else {
            throw ImageError(path: path, reason: reason(forGIFError: openError))
        }
        defer {
            var closeError: Int32 = 0
            DGifCloseFile(gif, &closeError)
        }
        return try readFirstFrame(gif, path: path, maximumPixelCount: maximumPixelCount)
    }

    private static func readFirstFrame(
        _ gif: UnsafeMutablePointer<GifFileType>, path: String, maximumPixelCount: Int
    ) throws(ImageError) -> RGBImage {
        var transparentIndex: Int?
        while true {
            var recordType = UNDEFINED_RECORD_TYPE
            guard DGifGetRecordType(gif, &recordType) == GIF_OK else {
                throw ImageError(path: path, reason: reason(forGIFError: gif.pointee.Error))
            }
            switch recordType {
            case EXTENSION_RECORD_TYPE:
                var code: Int32 = 0
                var block: UnsafeMutablePointer<GifByteType>?
                guard DGifGetExtension(gif, &code, &block) == GIF_OK else {
                    throw ImageError(path: path, reason: reason(forGIFError: gif.pointee.Error))
                }
                // Graphic control extension: length byte, flags, delay (2 bytes), transparent index.
                if code == GRAPHICS_EXT_FUNC_CODE, let block, block[0] >= 4, block[1] & 1 != 0 {
                    transparentIndex = Int(block[4])
                }
                while block != nil {
                    guard DGifGetExtensionNext(gif, &block) == GIF_OK else {
                        throw ImageError(path: path, reason: reason(forGIFError: gif.pointee.Error))
                    }
                }
            case IMAGE_DESC_RECORD_TYPE:
                guard DGifGetImageDesc(gif) == GIF_OK else {
                    throw ImageError(path: path, reason: reason(forGIFError: gif.pointee.Error))
                }
                return try readImage(gif, transparentIndex: transparentIndex, path: path, maximumPixelCount: maximumPixelCount)
            case TERMINATE_RECORD_TYPE:
                throw ImageError(path: path, reason: .invalidData("the GIF file contains no image"))
            default:
                throw ImageError(path: path, reason: .invalidData("unknown GIF record"))
            }
        }
    }

    private static func readImage(
        _ gif: UnsafeMutablePointer<GifFileType>, transparentIndex: Int?, path: String, maximumPixelCount: Int
    ) throws(ImageError) -> RGBImage {
        let descriptor = gif.pointee.Image
        let frameLeft = Int(descriptor.Left)
        let frameTop = Int(descriptor.Top)
        let frameWidth = Int(descriptor.Width)
        let frameHeight = Int(descriptor.Height)
        let width = max(Int(gif.pointee.SWidth), frameLeft + frameWidth)
        let height = max(Int(gif.pointee.SHeight), frameTop + frameHeight)
        try ImageDecoder.checkSize(width: width, height: height, maximumPixelCount: maximumPixelCount, path: path)
        guard frameWidth > 0, frameHeight > 0 else {
            throw ImageError(path: path, reason: .zeroSize)
        }

        var canvas = [UInt8](repeating: UInt8(transparentIndex ?? 0), count: width * height)
        var line = [GifPixelType](repeating: 0, count: frameWidth)
        for row in rowOrder(height: frameHeight, interlaced: descriptor.Interlace) {
            let status = line.withUnsafeMutableBufferPointer { DGifGetLine(gif, $0.baseAddress, Int32(frameWidth)) }
            guard status == GIF_OK else {
                throw ImageError(path: path, reason: reason(forGIFError: gif.pointee.Error))
            }
            let start = (frameTop + row) * width + frameLeft
            canvas.replaceSubrange(start..<(start + frameWidth), with: line)
        }

        let colorMap = descriptor.ColorMap ?? gif.pointee.SColorMap
        guard let colorMap else {
            let grey = (0...255).map { (UInt8($0), UInt8($0), UInt8($0)) }
            return RGBImage(width: width, height: height, indices: canvas, palette: grey)
        }
        let count = Int(colorMap.pointee.ColorCount)
        let palette = (0..<count).map { index in
            let color = colorMap.pointee.Colors[index]
            return (color.Red, color.Green, color.Blue)
        }
        return RGBImage(width: width, height: height, indices: canvas, palette: palette)
    }

    /// Rows in the order they are stored: four passes for an interlaced image.
    private static func rowOrder(height: Int, interlaced: Bool) -> [Int] {
        guard interlaced else { return Array(0..<height) }
        var rows: [Int] = []
        rows.reserveCapacity(height)
        for (start, step) in [(0, 8), (4, 8), (2, 4), (1, 2)] {
            rows.append(contentsOf: stride(from: start, to: height, by: step))
        }
        return rows
    }

    private static func reason(forGIFError code: Int32) -> ImageError.Reason {
        switch code {
        case D_GIF_ERR_READ_FAILED, D_GIF_ERR_EOF_TOO_SOON:
            return .truncated
        default:
            if let message = GifErrorString(code) {
                return .invalidData(String(cString: message))
            }
            return .invalidData("giflib error \(code)")
        }
    }
}

/// giflib's input callback: copies up to `count` bytes from the in-memory file.
private func readGIFBytes(_ gif: UnsafeMutablePointer<GifFileType>?, _ out: UnsafeMutablePointer<GifByteType>?, _ count: Int32) -> Int32 {
    guard let gif, let out, let userData = gif.pointee.UserData else { return 0 }
    let source = Unmanaged<GIFSource>.fromOpaque(userData).takeUnretainedValue()
    let length = min(Int(max(count, 0)), source.bytes.count - source.offset)
    if length > 0 {
        UnsafeMutableRawPointer(out).copyMemory(from: source.bytes.baseAddress! + source.offset, byteCount: length)
        source.offset += length
    }
    return Int32(length)
}

/// The in-memory file and read position behind giflib's `UserData` pointer.
private final class GIFSource {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }
}
