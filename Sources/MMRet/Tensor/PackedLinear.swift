import CKernels

/// An element type that packed linear layers take as input: `Float` for fp32 and
/// `UInt16` (the bit pattern of a bfloat16) for bf16.
protocol MatmulElement: Sendable {
    static var precision: Precision { get }
    static var zero: Self { get }
}

extension Float: MatmulElement {
    static var precision: Precision { .fp32 }
}

extension UInt16: MatmulElement {
    static var precision: Precision { .bf16 }
}

/// Linear layers with packed weights through oneDNN's matmul, parallel over rows like
/// `multiplyRows`.
extension ComputeContext {
    /// Computes `input · weightᵀ + bias` with `input` `[rows, layer inputs]` in the
    /// layer's precision, and writes it to `output` (fp32) or, with `accumulate`, adds it
    /// there.
    func matmul<Element: MatmulElement>(
        _ input: [Element], _ layer: LinearWeights, activation: Activation?, into output: inout Matrix, accumulate: Bool
    ) {
        guard let packed = layer.packed, packed.precision == Element.precision else {
            preconditionFailure("matmul needs a layer packed for \(Element.precision.rawValue)")
        }
        precondition(input.count == output.rows * packed.inputs && output.columns == packed.outputs)
        let rows = output.rows
        guard rows > 0 else { return }
        output.values.withUnsafeMutableBufferPointer { destination in
            run(input, layer, packed: packed, activation: activation, rows: rows,
                destination: UnsafeMutableRawPointer(destination.baseAddress!), destinationStride: 4 * packed.outputs,
                output: .float32, accumulate: accumulate)
        }
    }

    /// Returns `activation(input · weightᵀ + bias)`, `[rows, layer outputs]`, in the
    /// layer's precision, for a layer whose output feeds only another GEMM.
    func matmul<Element: MatmulElement>(_ input: [Element], _ layer: LinearWeights, activation: Activation?) -> [Element] {
        guard let packed = layer.packed, packed.precision == Element.precision else {
            preconditionFailure("matmul needs a layer packed for \(Element.precision.rawValue)")
        }
        precondition(input.count % packed.inputs == 0)
        let rows = input.count / packed.inputs
        var output = [Element](repeating: .zero, count: rows * packed.outputs)
        guard rows > 0 else { return output }
        output.withUnsafeMutableBytes { destination in
            run(input, layer, packed: packed, activation: activation, rows: rows,
                destination: destination.baseAddress!, destinationStride: MemoryLayout<Element>.stride * packed.outputs,
                output: Element.precision == .fp32 ? .float32 : .bfloat16, accumulate: false)
        }
        return output
    }

    private func run<Element: MatmulElement>(
        _ input: [Element], _ layer: LinearWeights, packed: PackedWeights, activation: Activation?, rows: Int,
        destination: UnsafeMutableRawPointer, destinationStride: Int, output: OneDNNMatmul.Output, accumulate: Bool
    ) {
        input.withUnsafeBytes { source in
            layer.bias.withUnsafeBufferPointer { bias in
                // Each chunk reads its own rows of `source` and writes its own rows of
                // `destination`.
                let pointers = UncheckedSendable((source.baseAddress!, bias.isEmpty ? nil : bias.baseAddress, destination))
                let sourceStride = MemoryLayout<Element>.stride * packed.inputs
                parallelFor(rows, minimumChunk: 32) { chunk in
                    let (source, bias, destination) = pointers.value
                    OneDNNMatmul.multiply(
                        source: source + chunk.lowerBound * sourceStride, rows: chunk.count, weights: packed,
                        bias: bias, activation: activation,
                        destination: destination + chunk.lowerBound * destinationStride,
                        output: output, accumulate: accumulate
                    )
                }
            }
        }
    }

    /// Layer norm as `layerNorm(_:weight:bias:eps:)` computes it, written as the input of
    /// a packed linear layer.
    func layerNorm<Element: MatmulElement>(_ input: Matrix, _ norm: LayerNormWeights, as _: Element.Type) -> [Element] {
        var output = [Element](repeating: .zero, count: input.values.count)
        guard !output.isEmpty else { return output }
        output.withUnsafeMutableBytes { buffer in
            switch Element.precision {
            case .fp32:
                layerNorm(input, weight: norm.weight, bias: norm.bias, eps: norm.eps,
                          output: buffer.baseAddress!.assumingMemoryBound(to: Float.self), outputBF16: nil)
            case .bf16:
                layerNorm(input, weight: norm.weight, bias: norm.bias, eps: norm.eps,
                          output: nil, outputBF16: buffer.baseAddress!.assumingMemoryBound(to: UInt16.self))
            }
        }
        return output
    }

    /// Returns `values` as the input of a packed linear layer: unchanged for fp32, rounded
    /// to bf16 (to nearest, ties to even) for bf16.
    func matmulInput<Element: MatmulElement>(_ values: [Float], as _: Element.Type) -> [Element] {
        if Element.self == Float.self {
            return unsafeBitCast(values, to: [Element].self)
        }
        var output = [Element](repeating: .zero, count: values.count)
        guard !values.isEmpty else { return output }
        values.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBytes { destination in
                let pointers = UncheckedSendable((source.baseAddress!, destination.baseAddress!.assumingMemoryBound(to: UInt16.self)))
                parallelFor(values.count, minimumChunk: 16384) { range in
                    let (source, destination) = pointers.value
                    mmret_f32_to_bf16(source + range.lowerBound, destination + range.lowerBound, range.count)
                }
            }
        }
        return output
    }
}
