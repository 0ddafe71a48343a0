import Foundation

/// Pillow's convolution filters, numbered as `PIL.Image.Resampling` numbers them (the
/// `resample` value in preprocessor_config.json). Nearest neighbour (0) is not a convolution
/// in Pillow and is not implemented.
public enum ResamplingFilter: Int, Sendable, CaseIterable {
    case lanczos = 1
    case bilinear = 2
    case bicubic = 3
    case box = 4
    case hamming = 5

    /// Half-width of the kernel in source pixels before widening for downscaling.
    var support: Double {
        switch self {
        case .box: 0.5
        case .bilinear, .hamming: 1
        case .bicubic: 2
        case .lanczos: 3
        }
    }

    /// Evaluates the kernel with the same double-precision expressions as Pillow's
    /// Resample.c (Pillow 13.0), so that the fixed-point weights round the same way.
    func weight(_ x: Double) -> Double {
        switch self {
        case .box:
            return x > -0.5 && x <= 0.5 ? 1 : 0
        case .bilinear:
            let distance = abs(x)
            return distance < 1 ? 1 - distance : 0
        case .hamming:
            let distance = abs(x)
            if distance == 0 { return 1 }
            if distance >= 1 { return 0 }
            let angle = distance * Double.pi
            // Pillow writes these constants as C floats, so they are float-rounded here too.
            return sin(angle) / angle * (Double(Float(0.54)) + Double(Float(0.46)) * cos(angle))
        case .bicubic:
            // Keys' cubic convolution with a = -0.5.
            let a = -0.5
            let distance = abs(x)
            if distance < 1 { return ((a + 2) * distance - (a + 3)) * distance * distance + 1 }
            if distance < 2 { return (((distance - 5) * distance + 8) * distance - 4) * a }
            return 0
        case .lanczos:
            guard -3 <= x && x < 3 else { return 0 }
            return Self.sinc(x) * Self.sinc(x / 3)
        }
    }

    private static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let angle = x * Double.pi
        return sin(angle) / angle
    }
}

/// Fixed-point weights for resampling one axis from `inputSize` to `outputSize` samples.
struct ResamplingKernel {
    /// Fraction bits of the weights: 32 bits minus 8 for the sample and 2 for overshoot.
    static let precisionBits = 22

    let outputSize: Int
    /// Weights per output sample (unused tail entries are zero).
    let kernelSize: Int
    /// First source sample of each output sample.
    let first: [Int]
    /// Number of source samples of each output sample.
    let count: [Int]
    let weights: [Int32]

    /// The output samples these weights cover; arrays are indexed from `outputs.lowerBound`.
    let outputs: Range<Int>

    /// Computes the weights of the output samples in `outputs` as Pillow's
    /// `precompute_coeffs` and `normalize_coeffs_8bpc` do: the kernel is widened by the
    /// downscale factor, normalised to sum 1 in double precision, then rounded half away
    /// from zero to 22 fraction bits.
    init(inputSize: Int, outputSize: Int, filter: ResamplingFilter, outputs: Range<Int>) {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        let inverseFilterScale = 1 / filterScale
        let unit = Double(1 << Self.precisionBits)

        var first = [Int](repeating: 0, count: outputs.count)
        var count = [Int](repeating: 0, count: outputs.count)
        var weights = [Int32](repeating: 0, count: outputs.count * kernelSize)
        var raw = [Double](repeating: 0, count: kernelSize)
        for (slot, output) in outputs.enumerated() {
            let center = (Double(output) + 0.5) * scale
            // Int() truncates toward zero, as the C cast does.
            let minimum = max(Int(center - support + 0.5), 0)
            let end = min(Int(center + support + 0.5), inputSize)
            let taps = max(end - minimum, 0)
            var sum = 0.0
            for tap in 0..<taps {
                let weight = filter.weight((Double(tap + minimum) - center + 0.5) * inverseFilterScale)
                raw[tap] = weight
                sum += weight
            }
            for tap in 0..<taps {
                let normalized = sum != 0 ? raw[tap] / sum : raw[tap]
                let scaled = normalized * unit
                weights[slot * kernelSize + tap] = Int32(normalized < 0 ? (scaled - 0.5) : (scaled + 0.5))
            }
            first[slot] = minimum
            count[slot] = taps
        }
        self.outputs = outputs
        self.outputSize = outputSize
        self.kernelSize = kernelSize
        self.first = first
        self.count = count
        self.weights = weights
    }
}

/// Pillow-exact resizing of 8-bit RGB images (`Image.resize` without `reducing_gap`).
///
/// Like Pillow, a horizontal pass runs only when the width changes and a vertical pass only
/// when the height changes, each rounding to 8 bits with clamping. Only the output pixels
/// inside `window` are computed. Each equals the pixel Pillow computes at that position,
/// because every output pixel depends on its own source pixels only.
enum ImageResampler {
    static func resize(
        _ image: RGBImage, width: Int, height: Int, filter: ResamplingFilter,
        window: (x: Range<Int>, y: Range<Int>)
    ) -> [UInt8] {
        precondition(width > 0 && height > 0, "resize target must be positive")
        precondition(window.x.lowerBound >= 0 && window.x.upperBound <= width, "window outside the output width")
        precondition(window.y.lowerBound >= 0 && window.y.upperBound <= height, "window outside the output height")
        let vertical = height != image.height
            ? ResamplingKernel(inputSize: image.height, outputSize: height, filter: filter, outputs: window.y) : nil
        let horizontal = width != image.width
            ? ResamplingKernel(inputSize: image.width, outputSize: width, filter: filter, outputs: window.x) : nil

        // Source rows the vertical pass reads for the window's rows.
        let rows: Range<Int>
        if let vertical, !window.y.isEmpty {
            let last = window.y.count - 1
            rows = vertical.first[0]..<(vertical.first[last] + vertical.count[last])
        } else {
            rows = window.y
        }

        let windowWidth = window.x.count
        var intermediate = [UInt8](repeating: 0, count: rows.count * windowWidth * 3)
        intermediate.withUnsafeMutableBufferPointer { out in
            image.pixels.withUnsafeBufferPointer { source in
                if let horizontal {
                    resampleRows(source, imageWidth: image.width, rows: rows, columns: window.x, kernel: horizontal, into: out)
                } else {
                    for (index, row) in rows.enumerated() {
                        let from = (row * image.width + window.x.lowerBound) * 3
                        let to = index * windowWidth * 3
                        for offset in 0..<(windowWidth * 3) {
                            out[to + offset] = source[from + offset]
                        }
                    }
                }
            }
        }
        guard let vertical else { return intermediate }

        var output = [UInt8](repeating: 0, count: window.y.count * windowWidth * 3)
        output.withUnsafeMutableBufferPointer { out in
            intermediate.withUnsafeBufferPointer { source in
                resampleColumns(source, width: windowWidth, firstRow: rows.lowerBound, rows: window.y, kernel: vertical, into: out)
            }
        }
        return output
    }

    /// Rounds a fixed-point sum to 8 bits and clamps it, as Pillow's `clip8` does.
    @inline(__always)
    private static func clip8(_ sum: Int32) -> UInt8 {
        UInt8(truncatingIfNeeded: min(max(sum >> Int32(ResamplingKernel.precisionBits), 0), 255))
    }

    private static func resampleRows(
        _ source: UnsafeBufferPointer<UInt8>, imageWidth: Int, rows: Range<Int>, columns: Range<Int>,
        kernel: ResamplingKernel, into out: UnsafeMutableBufferPointer<UInt8>
    ) {
        // Sums are 32-bit like Pillow's C ints; wrapping operations let the loops vectorise.
        // They cannot overflow: 255 times the sum of absolute weights stays below 2^31.
        let half = Int32(1 << (ResamplingKernel.precisionBits - 1))
        let windowWidth = columns.count
        kernel.weights.withUnsafeBufferPointer { weights in
            for (rowIndex, row) in rows.enumerated() {
                let line = source.baseAddress! + row * imageWidth * 3
                let target = out.baseAddress! + rowIndex * windowWidth * 3
                for columnIndex in 0..<columns.count {
                    let first = kernel.first[columnIndex]
                    let taps = kernel.count[columnIndex]
                    let k = weights.baseAddress! + columnIndex * kernel.kernelSize
                    var red = half
                    var green = half
                    var blue = half
                    var pixel = line + first * 3
                    for tap in 0..<taps {
                        let weight = k[tap]
                        red = red &+ Int32(pixel[0]) &* weight
                        green = green &+ Int32(pixel[1]) &* weight
                        blue = blue &+ Int32(pixel[2]) &* weight
                        pixel += 3
                    }
                    target[columnIndex * 3] = clip8(red)
                    target[columnIndex * 3 + 1] = clip8(green)
                    target[columnIndex * 3 + 2] = clip8(blue)
                }
            }
        }
    }

    private static func resampleColumns(
        _ source: UnsafeBufferPointer<UInt8>, width: Int, firstRow: Int, rows: Range<Int>,
        kernel: ResamplingKernel, into out: UnsafeMutableBufferPointer<UInt8>
    ) {
        let half = Int32(1 << (ResamplingKernel.precisionBits - 1))
        let rowLength = width * 3
        var sums = [Int32](repeating: 0, count: rowLength)
        kernel.weights.withUnsafeBufferPointer { weights in
            sums.withUnsafeMutableBufferPointer { sums in
                for rowIndex in 0..<rows.count {
                    let first = kernel.first[rowIndex] - firstRow
                    let taps = kernel.count[rowIndex]
                    let k = weights.baseAddress! + rowIndex * kernel.kernelSize
                    for index in 0..<rowLength { sums[index] = half }
                    for tap in 0..<taps {
                        let weight = k[tap]
                        let line = source.baseAddress! + (first + tap) * rowLength
                        for index in 0..<rowLength {
                            sums[index] = sums[index] &+ Int32(line[index]) &* weight
                        }
                    }
                    let target = out.baseAddress! + rowIndex * rowLength
                    for index in 0..<rowLength {
                        target[index] = clip8(sums[index])
                    }
                }
            }
        }
    }
}
