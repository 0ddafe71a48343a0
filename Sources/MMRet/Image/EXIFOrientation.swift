/// The EXIF orientation tag (0x0112) and the transform that displays the image upright,
/// with the same meaning as Pillow's `ImageOps.exif_transpose`.
enum EXIFOrientation: Int {
    case normal = 1
    case mirrored = 2
    case rotated180 = 3
    case flipped = 4
    case transposed = 5
    case rotated90Clockwise = 6
    case transversed = 7
    case rotated90CounterClockwise = 8

    /// Reads the tag from a JPEG's APP1 Exif segment; nil when there is none or it is invalid.
    init?(jpeg bytes: UnsafeRawBufferPointer) {
        let reader = ByteReader(bytes: bytes)
        var offset = 2
        while let marker0 = reader.uint8(at: offset), marker0 == 0xFF, let marker = reader.uint8(at: offset + 1) {
            // Segments without a length, then the start of scan ends the header.
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 || marker == 0xFF {
                offset += marker == 0xFF ? 1 : 2
                continue
            }
            if marker == 0xDA || marker == 0xD9 { return nil }
            guard let high = reader.uint8(at: offset + 2), let low = reader.uint8(at: offset + 3) else { return nil }
            let length = Int(high) << 8 | Int(low)
            if marker == 0xE1, let value = Self.orientation(reader, segment: offset + 4, length: length - 2) {
                self.init(rawValue: value)
                return
            }
            offset += 2 + length
        }
        return nil
    }

    /// Parses "Exif\0\0" followed by a TIFF header and IFD0 within one APP1 segment.
    private static func orientation(_ reader: ByteReader, segment: Int, length: Int) -> Int? {
        let exifHeader: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]
        for (index, byte) in exifHeader.enumerated() where reader.uint8(at: segment + index) != byte {
            return nil
        }
        let tiff = segment + 6
        let end = segment + length
        guard let order = reader.uint16(at: tiff) else { return nil }
        let bigEndian: Bool
        switch order {
        case 0x4949: bigEndian = false
        case 0x4D4D: bigEndian = true
        default: return nil
        }
        func read16(_ offset: Int) -> Int? {
            guard offset + 2 <= end, let value = reader.uint16(at: offset) else { return nil }
            return Int(bigEndian ? value.byteSwapped : value)
        }
        func read32(_ offset: Int) -> Int? {
            guard offset + 4 <= end, let value = reader.uint32(at: offset) else { return nil }
            return Int(bigEndian ? value.byteSwapped : value)
        }
        guard let ifdOffset = read32(tiff + 4), let entryCount = read16(tiff + ifdOffset) else { return nil }
        for entry in 0..<entryCount {
            let entryStart = tiff + ifdOffset + 2 + 12 * entry
            guard let tag = read16(entryStart) else { return nil }
            if tag == 0x0112 {
                return read16(entryStart + 8)
            }
        }
        return nil
    }

    /// Returns the image turned upright.
    func apply(to image: RGBImage) -> RGBImage {
        let width = image.width
        let height = image.height
        let swapsAxes = [.transposed, .rotated90Clockwise, .transversed, .rotated90CounterClockwise].contains(self)
        let outWidth = swapsAxes ? height : width
        let outHeight = swapsAxes ? width : height
        if self == .normal { return image }

        var pixels = [UInt8](repeating: 0, count: image.pixels.count)
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                // Source coordinates of output pixel (x, y).
                let (sourceX, sourceY): (Int, Int)
                switch self {
                case .normal: (sourceX, sourceY) = (x, y)
                case .mirrored: (sourceX, sourceY) = (width - 1 - x, y)
                case .rotated180: (sourceX, sourceY) = (width - 1 - x, height - 1 - y)
                case .flipped: (sourceX, sourceY) = (x, height - 1 - y)
                case .transposed: (sourceX, sourceY) = (y, x)
                case .rotated90Clockwise: (sourceX, sourceY) = (y, height - 1 - x)
                case .transversed: (sourceX, sourceY) = (width - 1 - y, height - 1 - x)
                case .rotated90CounterClockwise: (sourceX, sourceY) = (width - 1 - y, x)
                }
                let source = (sourceY * width + sourceX) * 3
                let target = (y * outWidth + x) * 3
                pixels[target] = image.pixels[source]
                pixels[target + 1] = image.pixels[source + 1]
                pixels[target + 2] = image.pixels[source + 2]
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: pixels)
    }
}
