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
    /// Magic Kernel Sharp 2013 and 2021 (John Costella), added in Pillow 13.0.
    case magicKernelSharp2013 = 6
    case magicKernelSharp2021 = 7

    /// Half-width of the kernel in source pixels before widening for downscaling.
    var support: Double {
        switch self {
        case .box: 0.5
        case .bilinear, .hamming: 1
        case .bicubic: 2
        case .lanczos: 3
        case .magicKernelSharp2013: 2.5
        case .magicKernelSharp2021: 4.5
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
        case .magicKernelSharp2013:
            // pow(x, 2) as in Pillow, which calls the C library's pow.
            let distance = abs(x)
            if distance < 0.5 { return 17.0 / 16.0 - 7.0 / 4.0 * pow(distance, 2) }
            if distance < 1.5 { return (1.0 - distance) * (7.0 / 4.0 - distance) }
            if distance < 2.5 { return -1.0 / 8.0 * pow(distance - 5.0 / 2.0, 2) }
            return 0
        case .magicKernelSharp2021:
            let distance = abs(x)
            if distance < 0.5 { return 577.0 / 576.0 - 239.0 / 144.0 * pow(distance, 2) }
            if distance < 1.5 { return 35.0 / 36.0 * (distance - 1.0) * (distance - 239.0 / 140.0) }
            if distance < 2.5 { return 1.0 / 6.0 * (distance - 2.0) * (65.0 / 24.0 - distance) }
            if distance < 3.5 { return 1.0 / 36.0 * (distance - 3.0) * (distance - 15.0 / 4.0) }
            if distance < 4.5 { return -1.0 / 288.0 * pow(distance - 9.0 / 2.0, 2) }
            return 0
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

    /// Source samples that the covered outputs read; the first sample grows with the output.
    var sourceRange: Range<Int> {
        guard let lastFirst = first.last, let lastCount = count.last, let start = first.first else { return 0..<0 }
        return start..<max(start, lastFirst + lastCount)
    }

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
/// when the height changes, each rounding to 8 bits with clamping. Pillow 13.0 runs the
/// vertical pass first when the height shrinks by more than twice as many pixels as the
/// width does, and the horizontal pass first otherwise. The order changes the rounding of
/// the intermediate image, so it is repeated here. Only the output pixels inside `window`
/// are computed. Each equals the pixel Pillow computes at that position, because every
/// output pixel depends on its own source pixels only.
enum ImageResampler {
    static func resize(
        _ image: RGBImage, width: Int, height: Int, filter: ResamplingFilter,
        window: (x: Range<Int>, y: Range<Int>)
    ) -> [UInt8] {
        precondition(width > 0 && height > 0, "resize target must be positive")
        precondition(window.x.lowerBound >= 0 && window.x.upperBound <= width, "window outside the output width")
        precondition(window.y.lowerBound >= 0 && window.y.upperBound <= height, "window outside the output height")
        guard !window.x.isEmpty, !window.y.isEmpty else { return [] }
        let vertical = height != image.height
            ? ResamplingKernel(inputSize: image.height, outputSize: height, filter: filter, outputs: window.y) : nil
        let horizontal = width != image.width
            ? ResamplingKernel(inputSize: image.width, outputSize: width, filter: filter, outputs: window.x) : nil

        let heightReduction = image.height - height
        let verticalFirst = heightReduction > 0 && heightReduction > (image.width - width) * 2

        // Source rows and columns that the window's pixels read.
        let rows = vertical.map { $0.sourceRange } ?? window.y
        let columns = horizontal.map { $0.sourceRange } ?? window.x

        return image.pixels.withUnsafeBufferPointer { source in
            let pixels = source.baseAddress!
            if verticalFirst {
                // Vertical pass over the columns the horizontal pass needs, then horizontal.
                var intermediate = [UInt8](repeating: 0, count: window.y.count * columns.count * 3)
                intermediate.withUnsafeMutableBufferPointer { out in
                    if let vertical {
                        resampleColumns(
                            pixels + columns.lowerBound * 3, firstRow: 0, stride: image.width, width: columns.count,
                            kernel: vertical, into: out.baseAddress!
                        )
                    } else {
                        copy(pixels, stride: image.width, rows: rows, columns: columns, into: out.baseAddress!)
                    }
                }
                guard let horizontal else { return intermediate }
                return resampleRows(intermediate, width: columns.count, firstColumn: columns.lowerBound, kernel: horizontal)
            }

            // Horizontal pass over the rows the vertical pass needs, then vertical.
            var intermediate = [UInt8](repeating: 0, count: rows.count * window.x.count * 3)
            intermediate.withUnsafeMutableBufferPointer { out in
                if let horizontal {
                    for (index, row) in rows.enumerated() {
                        resampleRow(
                            pixels + row * image.width * 3, firstColumn: 0, kernel: horizontal,
                            into: out.baseAddress! + index * window.x.count * 3
                        )
                    }
                } else {
                    copy(pixels, stride: image.width, rows: rows, columns: window.x, into: out.baseAddress!)
                }
            }
            guard let vertical else { return intermediate }
            var output = [UInt8](repeating: 0, count: window.y.count * window.x.count * 3)
            intermediate.withUnsafeBufferPointer { intermediate in
                output.withUnsafeMutableBufferPointer { out in
                    // The intermediate image starts at source row `rows.lowerBound`.
                    resampleColumns(
                        intermediate.baseAddress!, firstRow: rows.lowerBound, stride: window.x.count, width: window.x.count,
                        kernel: vertical, into: out.baseAddress!
                    )
                }
            }
            return output
        }
    }

    /// Rounds a fixed-point sum to 8 bits and clamps it, as Pillow's `clip8` does.
    @inline(__always)
    private static func clip8(_ sum: Int32) -> UInt8 {
        UInt8(truncatingIfNeeded: min(max(sum >> Int32(ResamplingKernel.precisionBits), 0), 255))
    }

    private static func copy(
        _ source: UnsafePointer<UInt8>, stride: Int, rows: Range<Int>, columns: Range<Int>, into out: UnsafeMutablePointer<UInt8>
    ) {
        for (index, row) in rows.enumerated() {
            let from = source + (row * stride + columns.lowerBound) * 3
            (out + index * columns.count * 3).update(from: from, count: columns.count * 3)
        }
    }

    /// Runs the horizontal pass over every row of an interleaved image whose first column is
    /// source column `firstColumn`.
    private static func resampleRows(_ image: [UInt8], width: Int, firstColumn: Int, kernel: ResamplingKernel) -> [UInt8] {
        let rowCount = image.count / (width * 3)
        var output = [UInt8](repeating: 0, count: rowCount * kernel.outputs.count * 3)
        image.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { out in
                for row in 0..<rowCount {
                    resampleRow(
                        source.baseAddress! + row * width * 3, firstColumn: firstColumn, kernel: kernel,
                        into: out.baseAddress! + row * kernel.outputs.count * 3
                    )
                }
            }
        }
        return output
    }

    /// Computes one row of the horizontal pass; `line` starts at source column `firstColumn`.
    private static func resampleRow(
        _ line: UnsafePointer<UInt8>, firstColumn: Int, kernel: ResamplingKernel, into target: UnsafeMutablePointer<UInt8>
    ) {
        // Sums are 32-bit like Pillow's C ints; wrapping operations let the loops vectorise.
        // They cannot overflow: 255 times the sum of absolute weights stays below 2^31.
        let half = Int32(1 << (ResamplingKernel.precisionBits - 1))
        kernel.weights.withUnsafeBufferPointer { weights in
            for column in 0..<kernel.outputs.count {
                let taps = kernel.count[column]
                let k = weights.baseAddress! + column * kernel.kernelSize
                var red = half
                var green = half
                var blue = half
                var pixel = line + (kernel.first[column] - firstColumn) * 3
                for tap in 0..<taps {
                    let weight = k[tap]
                    red = red &+ Int32(pixel[0]) &* weight
                    green = green &+ Int32(pixel[1]) &* weight
                    blue = blue &+ Int32(pixel[2]) &* weight
                    pixel += 3
                }
                target[column * 3] = clip8(red)
                target[column * 3 + 1] = clip8(green)
                target[column * 3 + 2] = clip8(blue)
            }
        }
    }

    /// Computes the vertical pass for the kernel's output rows over `width` columns. Source row
    /// `r` starts at `source + (r - firstRow) * stride * 3`.
    private static func resampleColumns(
        _ source: UnsafePointer<UInt8>, firstRow: Int, stride: Int, width: Int, kernel: ResamplingKernel,
        into out: UnsafeMutablePointer<UInt8>
    ) {
        let half = Int32(1 << (ResamplingKernel.precisionBits - 1))
        let rowLength = width * 3
        var sums = [Int32](repeating: 0, count: rowLength)
        kernel.weights.withUnsafeBufferPointer { weights in
            sums.withUnsafeMutableBufferPointer { sums in
                for row in 0..<kernel.outputs.count {
                    let first = kernel.first[row] - firstRow
                    let k = weights.baseAddress! + row * kernel.kernelSize
                    for index in 0..<rowLength { sums[index] = half }
                    for tap in 0..<kernel.count[row] {
                        let weight = k[tap]
                        let line = source + (first + tap) * stride * 3
                        for index in 0..<rowLength {
                            sums[index] = sums[index] &+ Int32(line[index]) &* weight
                        }
                    }
                    let target = out + row * rowLength
                    for index in 0..<rowLength {
                        target[index] = clip8(sums[index])
                    }
                }
            }
        }
    }
}
