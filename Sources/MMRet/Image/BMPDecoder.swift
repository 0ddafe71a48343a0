/// Windows and OS/2 bitmaps, written here because Debian has no BMP library.
///
/// Covers what Pillow's BMP reader opens: 1, 4 and 8-bit palettes (RLE8 and RLE4 too),
/// 16-bit (5-5-5 by default, 5-6-5 through bit fields), 24-bit and 32-bit pixels,
/// bottom-up and top-down rows. The fourth byte of a 32-bit pixel is ignored: Pillow reads it only when
/// bit fields name an alpha mask, and alpha is dropped anyway. Scaling of 5 and 6-bit
/// fields follows Pillow's `v * 255 / max` with integer division.
enum BMPDecoder {
    private struct Header {
        var width = 0
        var height = 0
        var topDown = false
        var bitsPerPixel = 0
        var compression = 0
        var colorsUsed = 0
        var headerSize = 0
        var masks: [UInt32]?
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, maximumPixelCount: Int) throws(ImageError) -> RGBImage {
        let reader = ByteReader(bytes: bytes)
        guard bytes.count >= 26, let pixelOffset = reader.uint32(at: 10), let headerSize = reader.uint32(at: 14) else {
            throw ImageError(path: path, reason: .truncated)
        }
        var header = try readHeader(reader, headerSize: Int(headerSize), path: path)
        try ImageDecoder.checkSize(width: header.width, height: header.height, maximumPixelCount: maximumPixelCount, path: path)

        // BITMAPINFOHEADER keeps its bit-field masks right after the header.
        var paletteStart = 14 + header.headerSize
        if header.compression == 3 && header.headerSize == 40 {
            guard let red = reader.uint32(at: paletteStart), let green = reader.uint32(at: paletteStart + 4),
                  let blue = reader.uint32(at: paletteStart + 8)
            else {
                throw ImageError(path: path, reason: .truncated)
            }
            header.masks = [red, green, blue, 0]
            paletteStart += 12
        }

        let format = try pixelFormat(header, path: path)
        var palette: [(UInt8, UInt8, UInt8)] = []
        if header.bitsPerPixel <= 8 {
            palette = try readPalette(reader, at: paletteStart, header: header, path: path)
        }
        guard Int(pixelOffset) <= bytes.count else {
            throw ImageError(path: path, reason: .truncated)
        }
        if case .runLength(let fourBit) = format {
            var indices = try decodeRunLength(
                bytes, start: Int(pixelOffset), width: header.width, height: header.height, fourBit: fourBit, path: path
            )
            if !header.topDown {
                indices = flipRows(indices, width: header.width, height: header.height)
            }
            return RGBImage(width: header.width, height: header.height, indices: indices, palette: palette)
        }

        let rowBytes = ((header.width * header.bitsPerPixel + 31) >> 3) & ~3
        guard Int(pixelOffset) + rowBytes * header.height <= bytes.count else {
            throw ImageError(path: path, reason: .truncated)
        }
        var rgb = [UInt8](repeating: 0, count: header.width * header.height * 3)
        for row in 0..<header.height {
            let sourceRow = header.topDown ? row : header.height - 1 - row
            let rowStart = Int(pixelOffset) + sourceRow * rowBytes
            for x in 0..<header.width {
                let (red, green, blue) = pixel(
                    at: x, rowStart: rowStart, bytes: bytes, format: format, palette: palette
                )
                let target = (row * header.width + x) * 3
                rgb[target] = red
                rgb[target + 1] = green
                rgb[target + 2] = blue
            }
        }
        return RGBImage(width: header.width, height: header.height, pixels: rgb)
    }

    private enum PixelFormat {
        case indexed(bits: Int)
        /// RLE8, or RLE4 when `fourBit` is true: palette indices, run-length coded.
        case runLength(fourBit: Bool)
        case bgr15
        case bgr16
        case bgr24
        /// 32-bit pixels; the payload is the byte offsets of red, green and blue.
        case bytes32(red: Int, green: Int, blue: Int)
    }

    private static func readHeader(_ reader: ByteReader, headerSize: Int, path: String) throws(ImageError) -> Header {
        var header = Header()
        header.headerSize = headerSize
        if headerSize == 12 {
            guard let width = reader.uint16(at: 18), let height = reader.uint16(at: 20), let bits = reader.uint16(at: 24) else {
                throw ImageError(path: path, reason: .truncated)
            }
            header.width = Int(width)
            header.height = Int(height)
            header.bitsPerPixel = Int(bits)
            return header
        }

        guard [40, 52, 56, 64, 108, 124].contains(headerSize) else {
            throw ImageError(path: path, reason: .unsupportedFeature("a BMP header of \(headerSize) bytes"))
        }
        guard let width = reader.uint32(at: 18), let height = reader.uint32(at: 22), let bits = reader.uint16(at: 28),
              let compression = reader.uint32(at: 30), let colors = reader.uint32(at: 46)
        else {
            throw ImageError(path: path, reason: .truncated)
        }
        header.width = Int(Int32(bitPattern: width))
        let signedHeight = Int(Int32(bitPattern: height))
        header.topDown = signedHeight < 0
        header.height = abs(signedHeight)
        header.bitsPerPixel = Int(bits)
        header.compression = Int(compression)
        header.colorsUsed = Int(colors)

        if header.compression == 3 && headerSize >= 52 {
            guard let red = reader.uint32(at: 54), let green = reader.uint32(at: 58), let blue = reader.uint32(at: 62) else {
                throw ImageError(path: path, reason: .truncated)
            }
            let alpha = headerSize >= 56 ? (reader.uint32(at: 66) ?? 0) : 0
            header.masks = [red, green, blue, alpha]
        }
        return header
    }

    private static func pixelFormat(_ header: Header, path: String) throws(ImageError) -> PixelFormat {
        switch header.compression {
        case 0:
            switch header.bitsPerPixel {
            case 1, 4, 8: return .indexed(bits: header.bitsPerPixel)
            case 16: return .bgr15
            case 24: return .bgr24
            case 32: return .bytes32(red: 2, green: 1, blue: 0)
            default: throw ImageError(path: path, reason: .unsupportedFeature("BMP pixel depth \(header.bitsPerPixel)"))
            }
        case 1, 2:
            guard [1, 4, 8].contains(header.bitsPerPixel) else {
                throw ImageError(path: path, reason: .unsupportedFeature("BMP run-length compression at \(header.bitsPerPixel) bits a pixel"))
            }
            return .runLength(fourBit: header.compression == 2)
        case 3:
            let masks = header.masks ?? [0, 0, 0, 0]
            let rgb = Array(masks.prefix(3))
            switch (header.bitsPerPixel, rgb) {
            case (16, [0xF800, 0x7E0, 0x1F]): return .bgr16
            case (16, [0x7C00, 0x3E0, 0x1F]): return .bgr15
            case (24, [0xFF0000, 0xFF00, 0xFF]): return .bgr24
            case (32, _):
                if let offsets = byteOffsets(rgb) {
                    return .bytes32(red: offsets[0], green: offsets[1], blue: offsets[2])
                }
                // Pillow reads all-zero masks as BGRA.
                if masks == [0, 0, 0, 0] {
                    return .bytes32(red: 2, green: 1, blue: 0)
                }
            default:
                break
            }
            throw ImageError(path: path, reason: .unsupportedFeature("BMP bit-field masks \(rgb.map { String($0, radix: 16) })"))
        default:
            throw ImageError(path: path, reason: .unsupportedFeature("BMP compression \(header.compression)"))
        }
    }

    /// Decodes RLE8 or RLE4 data into palette indices in stored row order, as Pillow's
    /// `BmpRleDecoder` (Pillow 13.0) does. The output is one flat stream: an end-of-line
    /// code pads to the next row, a delta code skips `right + up * width` pixels, and
    /// absolute runs may continue into the next row. Skipped pixels are index 0. Pillow
    /// rejects data that does not fill the image, so that is an error here too.
    private static func decodeRunLength(
        _ bytes: UnsafeRawBufferPointer, start: Int, width: Int, height: Int, fourBit: Bool, path: String
    ) throws(ImageError) -> [UInt8] {
        let total = width * height
        var indices: [UInt8] = []
        indices.reserveCapacity(total)
        var offset = start
        var column = 0
        var endedEarly = false

        decoding: while indices.count < total {
            guard offset + 2 <= bytes.count else { break }
            let count = Int(bytes[offset])
            let value = bytes[offset + 1]
            offset += 2
            if count > 0 {
                // Encoded run: `count` pixels of one index, or of two alternating 4-bit indices.
                let run = column + count > width ? max(0, width - column) : count
                for index in 0..<run {
                    if !fourBit {
                        indices.append(value)
                    } else if index % 2 == 0 {
                        indices.append(value >> 4)
                    } else {
                        indices.append(value & 0x0F)
                    }
                }
                column += run
                continue
            }
            switch value {
            case 0:
                while indices.count % width != 0 {
                    indices.append(0)
                }
                column = 0
            case 1:
                endedEarly = indices.count < total
                break decoding
            case 2:
                guard offset + 2 <= bytes.count else { break decoding }
                let skip = Int(bytes[offset]) + Int(bytes[offset + 1]) * width
                offset += 2
                indices.append(contentsOf: repeatElement(0, count: min(total - indices.count, skip)))
                column = indices.count % width
            default:
                // Absolute run of `value` literal indices, padded to an even file offset.
                let literalCount = min(total - indices.count, Int(value))
                let byteCount = fourBit ? (literalCount + 1) / 2 : literalCount
                let available = min(byteCount, bytes.count - offset)
                for index in 0..<available {
                    let byte = bytes[offset + index]
                    if fourBit {
                        indices.append(byte >> 4)
                        if index * 2 + 1 < literalCount {
                            indices.append(byte & 0x0F)
                        }
                    } else {
                        indices.append(byte)
                    }
                }
                offset += available
                if available < byteCount || indices.count == total {
                    break decoding
                }
                column += Int(value)
                if offset % 2 != 0 {
                    offset += 1
                }
            }
        }
        guard indices.count >= total else {
            if endedEarly {
                throw ImageError(path: path, reason: .invalidData("the BMP run-length data ends before the last row"))
            }
            throw ImageError(path: path, reason: .truncated)
        }
        return Array(indices.prefix(total))
    }

    private static func flipRows(_ indices: [UInt8], width: Int, height: Int) -> [UInt8] {
        var flipped: [UInt8] = []
        flipped.reserveCapacity(indices.count)
        for row in (0..<height).reversed() {
            flipped.append(contentsOf: indices[(row * width)..<((row + 1) * width)])
        }
        return flipped
    }

    /// Byte offsets for masks that each cover one whole byte of a little-endian 32-bit pixel.
    private static func byteOffsets(_ masks: [UInt32]) -> [Int]? {
        var offsets: [Int] = []
        for mask in masks {
            guard let offset = (0..<4).first(where: { mask == UInt32(0xFF) << (8 * $0) }) else { return nil }
            offsets.append(offset)
        }
        return offsets
    }

    private static func readPalette(
        _ reader: ByteReader, at start: Int, header: Header, path: String
    ) throws(ImageError) -> [(UInt8, UInt8, UInt8)] {
        let entryBytes = header.headerSize == 12 ? 3 : 4
        let count = header.colorsUsed > 0 ? header.colorsUsed : 1 << header.bitsPerPixel
        guard count <= 65536 else {
            throw ImageError(path: path, reason: .invalidData("BMP palette of \(count) colours"))
        }
        var palette: [(UInt8, UInt8, UInt8)] = []
        for index in 0..<min(count, 256) {
            let offset = start + index * entryBytes
            guard let blue = reader.uint8(at: offset), let green = reader.uint8(at: offset + 1),
                  let red = reader.uint8(at: offset + 2)
            else {
                throw ImageError(path: path, reason: .truncated)
            }
            palette.append((red, green, blue))
        }
        return palette
    }

    @inline(__always)
    private static func pixel(
        at x: Int, rowStart: Int, bytes: UnsafeRawBufferPointer, format: PixelFormat, palette: [(UInt8, UInt8, UInt8)]
    ) -> (UInt8, UInt8, UInt8) {
        switch format {
        case .indexed(let bits):
            let bitOffset = x * bits
            let byte = Int(bytes[rowStart + bitOffset / 8])
            let shift = 8 - bits - bitOffset % 8
            let index = (byte >> shift) & ((1 << bits) - 1)
            return index < palette.count ? palette[index] : (0, 0, 0)
        case .runLength:
            return (0, 0, 0)  // Decoded separately; never reached.
        case .bgr15, .bgr16:
            let value = Int(bytes[rowStart + 2 * x]) | Int(bytes[rowStart + 2 * x + 1]) << 8
            let blue = (value & 31) * 255 / 31
            if case .bgr16 = format {
                return (UInt8(((value >> 11) & 31) * 255 / 31), UInt8(((value >> 5) & 63) * 255 / 63), UInt8(blue))
            }
            return (UInt8(((value >> 10) & 31) * 255 / 31), UInt8(((value >> 5) & 31) * 255 / 31), UInt8(blue))
        case .bgr24:
            let offset = rowStart + 3 * x
            return (bytes[offset + 2], bytes[offset + 1], bytes[offset])
        case .bytes32(let red, let green, let blue):
            let offset = rowStart + 4 * x
            return (bytes[offset + red], bytes[offset + green], bytes[offset + blue])
        }
    }
}

/// Bounds-checked little-endian reads; each returns nil past the end.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer

    func uint8(at offset: Int) -> UInt8? {
        guard offset >= 0, offset < bytes.count else { return nil }
        return bytes[offset]
    }

    func uint16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= bytes.count else { return nil }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    func uint32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= bytes.count else { return nil }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }
}
