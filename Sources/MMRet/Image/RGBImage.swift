/// An 8-bit RGB image, rows top to bottom, three interleaved samples a pixel.
struct RGBImage: Sendable {
    var width: Int
    var height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGB buffer size does not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// Interleaved decoder output before conversion to RGB.
enum PixelLayout: Sendable {
    case grey
    case greyAlpha
    case rgb
    case rgba
    /// libjpeg's CMYK output as the library returns it (Adobe polarity: 0 is full ink).
    case jpegCMYK

    var channels: Int {
        switch self {
        case .grey: 1
        case .greyAlpha: 2
        case .rgb: 3
        case .rgba, .jpegCMYK: 4
        }
    }
}

extension RGBImage {
    /// Converts decoder output to RGB as Pillow's `convert("RGB")` does: grey is replicated,
    /// alpha is dropped without compositing, and CMYK uses Pillow's integer formula.
    init(width: Int, height: Int, layout: PixelLayout, samples: UnsafeBufferPointer<UInt8>) {
        let count = width * height
        precondition(samples.count >= count * layout.channels, "sample buffer too small for \(width)x\(height)")
        var rgb = [UInt8](repeating: 0, count: count * 3)
        rgb.withUnsafeMutableBufferPointer { out in
            switch layout {
            case .grey:
                for i in 0..<count {
                    let value = samples[i]
                    out[3 * i] = value
                    out[3 * i + 1] = value
                    out[3 * i + 2] = value
                }
            case .greyAlpha:
                for i in 0..<count {
                    let value = samples[2 * i]
                    out[3 * i] = value
                    out[3 * i + 1] = value
                    out[3 * i + 2] = value
                }
            case .rgb:
                for i in 0..<(count * 3) {
                    out[i] = samples[i]
                }
            case .rgba:
                for i in 0..<count {
                    out[3 * i] = samples[4 * i]
                    out[3 * i + 1] = samples[4 * i + 1]
                    out[3 * i + 2] = samples[4 * i + 2]
                }
            case .jpegCMYK:
                for i in 0..<count {
                    // Pillow inverts libjpeg's CMYK ("CMYK;I") and then computes
                    // 255 - k' - (c' * (255 - k')) / 255 per channel, where c' and k' are the
                    // inverted values. In libjpeg's own values that is k - (255 - c) * k / 255.
                    let k = Int(samples[4 * i + 3])
                    for channel in 0..<3 {
                        let inverted = 255 - Int(samples[4 * i + channel])
                        out[3 * i + channel] = UInt8(clamping: k - multiplyDivide255(inverted, k))
                    }
                }
            }
        }
        self.init(width: width, height: height, pixels: rgb)
    }

    /// Builds an image from palette indices; an index past the palette's end maps to black.
    init(width: Int, height: Int, indices: [UInt8], palette: [(UInt8, UInt8, UInt8)]) {
        var table = [UInt8](repeating: 0, count: 256 * 3)
        for (index, entry) in palette.prefix(256).enumerated() {
            table[3 * index] = entry.0
            table[3 * index + 1] = entry.1
            table[3 * index + 2] = entry.2
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            let base = Int(indices[i]) * 3
            rgb[3 * i] = table[base]
            rgb[3 * i + 1] = table[base + 1]
            rgb[3 * i + 2] = table[base + 2]
        }
        self.init(width: width, height: height, pixels: rgb)
    }
}

/// Rounded a * b / 255 with Pillow's shift trick, exact for 0...255 operands.
@inline(__always)
func multiplyDivide255(_ a: Int, _ b: Int) -> Int {
    let product = a * b + 128
    return ((product >> 8) + product) >> 8
}
