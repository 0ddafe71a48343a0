import CKernels
import Foundation

/// Element-wise and row-wise kernels over row-major matrices, parallel over rows.
///
/// Each mirrors the PyTorch operation named in its documentation, in fp32.
extension ComputeContext {
    /// Computes `output = input · weightᵀ + bias` (PyTorch's `nn.Linear`), with `weight`
    /// of shape `[out, in]`. `bias` may be empty for a layer without bias.
    public func linear(_ input: Matrix, weight: Matrix, bias: [Float]) -> Matrix {
        precondition(input.columns == weight.columns, "linear layer expects \(weight.columns) input features, got \(input.columns)")
        var output = Matrix(rows: input.rows, columns: weight.rows)
        if !bias.isEmpty {
            broadcastRows(bias, into: &output)
        }
        multiplyAccumulate(input, weightTransposed: weight, into: &output, beta: bias.isEmpty ? 0 : 1)
        return output
    }

    /// Computes `activation(input · weightᵀ + bias)`, adding the bias and applying the
    /// activation in one pass after the GEMM.
    func linear(_ input: Matrix, weight: Matrix, bias: [Float], activation: Activation) -> Matrix {
        precondition(input.columns == weight.columns, "linear layer expects \(weight.columns) input features, got \(input.columns)")
        var output = Matrix(rows: input.rows, columns: weight.rows)
        multiplyAccumulate(input, weightTransposed: weight, into: &output, beta: 0)
        addBias(bias, activation: activation, to: &output)
        return output
    }

    /// Adds `input · weightᵀ + bias` to `accumulator` in place: the residual connection
    /// around a linear layer, without a temporary for the layer's output.
    public func linearAddingInPlace(_ input: Matrix, weight: Matrix, bias: [Float], to accumulator: inout Matrix) {
        precondition(input.columns == weight.columns && accumulator.columns == weight.rows && accumulator.rows == input.rows)
        if !bias.isEmpty {
            addRowVector(bias, to: &accumulator)
        }
        multiplyAccumulate(input, weightTransposed: weight, into: &accumulator, beta: 1)
    }

    private func multiplyAccumulate(_ input: Matrix, weightTransposed weight: Matrix, into output: inout Matrix, beta: Float) {
        guard input.rows > 0 else { return }
        input.values.withUnsafeBufferPointer { a in
            weight.values.withUnsafeBufferPointer { b in
                output.values.withUnsafeMutableBufferPointer { c in
                    multiplyRows(
                        transposeB: true, m: input.rows, n: weight.rows, k: input.columns,
                        a: a.baseAddress!, lda: input.columns,
                        b: b.baseAddress!, ldb: weight.columns,
                        beta: beta, c: c.baseAddress!, ldc: output.columns
                    )
                }
            }
        }
    }

    /// Copies `vector` into every row of `matrix`.
    func broadcastRows(_ vector: [Float], into matrix: inout Matrix) {
        let columns = matrix.columns
        precondition(vector.count == columns)
        matrix.values.withUnsafeMutableBufferPointer { output in
            vector.withUnsafeBufferPointer { source in
                let out = output.baseAddress!
                parallelFor(matrix.rows, minimumChunk: 64) { rows in
                    for row in rows {
                        (out + row * columns).update(from: source.baseAddress!, count: columns)
                    }
                }
            }
        }
    }

    /// Adds `vector` to every row of `matrix`.
    func addRowVector(_ vector: [Float], to matrix: inout Matrix) {
        let columns = matrix.columns
        precondition(vector.count == columns)
        matrix.values.withUnsafeMutableBufferPointer { output in
            vector.withUnsafeBufferPointer { source in
                let buffers = UncheckedSendable((output.baseAddress!, source.baseAddress!))
                parallelFor(matrix.rows, minimumChunk: 64) { rows in
                    let (out, add) = buffers.value
                    mmret_add_row_vector(out + rows.lowerBound * columns, rows.count, columns, add)
                }
            }
        }
    }

    /// Normalises each row to zero mean and unit variance, then scales and shifts it
    /// (PyTorch's `nn.LayerNorm` over the last dimension, biased variance, `eps` inside
    /// the square root). Mean and variance are reduced in Double from 16 float partial
    /// sums, so that long rows lose no precision against PyTorch's fp32 Welford reduction.
    public func layerNorm(_ input: Matrix, weight: [Float], bias: [Float], eps: Float) -> Matrix {
        var output = Matrix(rows: input.rows, columns: input.columns)
        output.values.withUnsafeMutableBufferPointer { outputBuffer in
            layerNorm(input, weight: weight, bias: bias, eps: eps, output: outputBuffer.baseAddress!, outputBF16: nil)
        }
        return output
    }

    /// Layer norm as above into caller-owned storage: `output` (fp32) and/or `outputBF16`
    /// (the same values rounded to bfloat16), each `input.rows * input.columns` values.
    func layerNorm(
        _ input: Matrix, weight: [Float], bias: [Float], eps: Float,
        output: UnsafeMutablePointer<Float>?, outputBF16: UnsafeMutablePointer<UInt16>?
    ) {
        let columns = input.columns
        precondition(weight.count == columns && bias.count == columns)
        input.values.withUnsafeBufferPointer { inputBuffer in
            weight.withUnsafeBufferPointer { gamma in
                bias.withUnsafeBufferPointer { beta in
                    // Each chunk reads and writes only its own rows.
                    let pointers = UncheckedSendable((inputBuffer.baseAddress!, gamma.baseAddress!, beta.baseAddress!, output, outputBF16))
                    parallelFor(input.rows, minimumChunk: 16) { rows in
                        let (source, gamma, beta, output, outputBF16) = pointers.value
                        let offset = rows.lowerBound * columns
                        mmret_layer_norm(
                            source + offset, rows.count, columns, gamma, beta, eps,
                            output.map { $0 + offset }, outputBF16.map { $0 + offset }
                        )
                    }
                }
            }
        }
    }

    /// Adds `bias` (empty for none) to every row, then applies `activation` (nil for
    /// none), in place and in one pass.
    func addBias(_ bias: [Float], activation: Activation?, to matrix: inout Matrix) {
        let columns = matrix.columns
        precondition(bias.isEmpty || bias.count == columns)
        let code: Int32 = switch activation {
        case nil: 0
        case .quickGELU: 1
        case .gelu: 2
        }
        if bias.isEmpty && activation == nil { return }
        matrix.values.withUnsafeMutableBufferPointer { output in
            bias.withUnsafeBufferPointer { source in
                let buffers = UncheckedSendable((output.baseAddress!, source.isEmpty ? nil : source.baseAddress))
                parallelFor(matrix.rows, minimumChunk: 16) { rows in
                    let (out, add) = buffers.value
                    mmret_bias_activation(out + rows.lowerBound * columns, rows.count, columns, add, code)
                }
            }
        }
    }

    /// Applies `activation` to every value in place.
    public func activate(_ matrix: inout Matrix, _ activation: Activation) {
        addBias([], activation: activation, to: &matrix)
    }
}

/// The MLP activations that CLIP configurations name in `hidden_act`.
public enum Activation: String, Sendable {
    /// `x * sigmoid(1.702 * x)`, the activation of OpenAI's CLIP and BGE-VL.
    case quickGELU = "quick_gelu"
    /// The exact GELU, `0.5 * x * (1 + erf(x / sqrt(2)))`.
    case gelu = "gelu"
}
