/// Windows and OS/2 bitmaps, written here because Debian has no BMP library.
///
/// Covers what Pillow's BMP reader opens without RLE: 1, 4 and 8-bit palettes, 16-bit
/// (5-5-5 by default, 5-6-5 through bit fields), 24-bit and 32-bit pixels (the fourth byte
/// is ignored, as Pillow ignores it unless bit fields name an alpha mask, and alpha is
/// dropped anyway), bottom-up and top-down rows. Scaling of 5 and 6-bit fields follows
/// Pillow's `v * 255 / max` with integer division.
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

        let rowBytes = ((header.width * header.bitsPerPixel + 31) >> 3) & ~3
        let dataEnd = Int(pixelOffset) + rowBytes * header.height
        guard Int(pixelOffset) <= bytes.count, dataEnd <= bytes.count else {
            throw ImageError(path: path, reason: .truncated)
        }
        let format = try pixelFormat(header, path: path)

        var rgb = [UInt8](repeating: 0, count: header.width * header.height * 3)
        var palette: [(UInt8, UInt8, UInt8)] = []
        if header.bitsPerPixel <= 8 {
            palette = try readPalette(reader, at: paletteStart, header: header, path: path)
        }
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
            // TODO: decode RLE8 and RLE4 bitmaps, which Pillow reads.
            throw ImageError(path: path, reason: .unsupportedFeature("BMP run-length compression"))
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
