import CKernels

/// Linear layers with bf16 inputs and packed bf16 weights, parallel over rows like
/// `multiplyRows`.
extension ComputeContext {
    /// Computes `input · weightᵀ + bias` with `input` `[rows, layer inputs]` in bf16, and
    /// writes it to `output` (fp32) or, with `accumulate`, adds it there.
    func matmulBF16(_ input: [UInt16], _ layer: LinearWeights, activation: Activation?, into output: inout Matrix, accumulate: Bool) {
        guard let packed = layer.packed else {
            preconditionFailure("matmulBF16 needs a layer converted to bf16")
        }
        precondition(input.count == output.rows * packed.inputs && output.columns == packed.outputs)
        let rows = output.rows
        guard rows > 0 else { return }
        input.withUnsafeBufferPointer { source in
            layer.bias.withUnsafeBufferPointer { bias in
                output.values.withUnsafeMutableBufferPointer { destination in
                    // Each chunk reads its own rows of `source` and writes its own rows of
                    // `destination`.
                    let pointers = UncheckedSendable((source.baseAddress!, bias.isEmpty ? nil : bias.baseAddress, destination.baseAddress!))
                    parallelFor(rows, minimumChunk: 32) { chunk in
                        let (source, bias, destination) = pointers.value
                        OneDNNMatmul.multiply(
                            source: source + chunk.lowerBound * packed.inputs, rows: chunk.count, weights: packed,
                            bias: bias, activation: activation,
                            destination: UnsafeMutableRawPointer(destination + chunk.lowerBound * packed.outputs),
                            output: .float32, accumulate: accumulate
                        )
                    }
                }
            }
        }
    }

    /// Returns `activation(input · weightᵀ + bias)` in bf16, `[rows, layer outputs]`, for a
    /// layer whose output feeds only another GEMM.
    func matmulBF16(_ input: [UInt16], _ layer: LinearWeights, activation: Activation?) -> [UInt16] {
        guard let packed = layer.packed else {
            preconditionFailure("matmulBF16 needs a layer converted to bf16")
        }
        precondition(input.count % packed.inputs == 0)
        let rows = input.count / packed.inputs
        var output = [UInt16](repeating: 0, count: rows * packed.outputs)
        guard rows > 0 else { return output }
        input.withUnsafeBufferPointer { source in
            layer.bias.withUnsafeBufferPointer { bias in
                output.withUnsafeMutableBufferPointer { destination in
                    let pointers = UncheckedSendable((source.baseAddress!, bias.isEmpty ? nil : bias.baseAddress, destination.baseAddress!))
                    parallelFor(rows, minimumChunk: 32) { chunk in
                        let (source, bias, destination) = pointers.value
                        OneDNNMatmul.multiply(
                            source: source + chunk.lowerBound * packed.inputs, rows: chunk.count, weights: packed,
                            bias: bias, activation: activation,
                            destination: UnsafeMutableRawPointer(destination + chunk.lowerBound * packed.outputs),
                            output: .bfloat16, accumulate: false
                        )
                    }
                }
            }
        }
        return output
    }

    /// Returns `values` rounded to bf16 (to nearest, ties to even).
    func roundedToBF16(_ values: [Float]) -> [UInt16] {
        var output = [UInt16](repeating: 0, count: values.count)
        guard !values.isEmpty else { return output }
        values.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                let pointers = UncheckedSendable((source.baseAddress!, destination.baseAddress!))
                parallelFor(values.count, minimumChunk: 16384) { range in
                    let (source, destination) = pointers.value
                    mmret_f32_to_bf16(source + range.lowerBound, destination + range.lowerBound, range.count)
                }
            }
        }
        return output
    }
}
