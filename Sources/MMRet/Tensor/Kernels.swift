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
                let out = output.baseAddress!
                let add = source.baseAddress!
                parallelFor(matrix.rows, minimumChunk: 64) { rows in
                    for row in rows {
                        let line = out + row * columns
                        for column in 0 ..< columns {
                            line[column] += add[column]
                        }
                    }
                }
            }
        }
    }

    /// Normalises each row to zero mean and unit variance, then scales and shifts it
    /// (PyTorch's `nn.LayerNorm` over the last dimension, biased variance, `eps` inside
    /// the square root). Mean and variance are accumulated in Double so that long rows
    /// lose no precision against PyTorch's fp32 Welford reduction.
    public func layerNorm(_ input: Matrix, weight: [Float], bias: [Float], eps: Float) -> Matrix {
        let columns = input.columns
        precondition(weight.count == columns && bias.count == columns)
        var output = Matrix(rows: input.rows, columns: columns)
        input.values.withUnsafeBufferPointer { inputBuffer in
            output.values.withUnsafeMutableBufferPointer { outputBuffer in
                weight.withUnsafeBufferPointer { gamma in
                    bias.withUnsafeBufferPointer { beta in
                        let source = inputBuffer.baseAddress!
                        let destination = outputBuffer.baseAddress!
                        parallelFor(input.rows, minimumChunk: 16) { rows in
                            for row in rows {
                                let x = source + row * columns
                                let y = destination + row * columns
                                var sum = 0.0
                                for column in 0 ..< columns {
                                    sum += Double(x[column])
                                }
                                let mean = sum / Double(columns)
                                var squares = 0.0
                                for column in 0 ..< columns {
                                    let centred = Double(x[column]) - mean
                                    squares += centred * centred
                                }
                                let inverseDeviation = Float(1 / (squares / Double(columns) + Double(eps)).squareRoot())
                                let meanFloat = Float(mean)
                                for column in 0 ..< columns {
                                    y[column] = (x[column] - meanFloat) * inverseDeviation * gamma[column] + beta[column]
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Applies `activation` to every value in place.
    public func activate(_ matrix: inout Matrix, _ activation: Activation) {
        let count = matrix.values.count
        matrix.values.withUnsafeMutableBufferPointer { buffer in
            let values = buffer.baseAddress!
            parallelFor(count, minimumChunk: 4096) { range in
                switch activation {
                case .quickGELU:
                    for index in range {
                        let x = values[index]
                        values[index] = x / (1 + expf(-1.702 * x))
                    }
                case .gelu:
                    for index in range {
                        let x = values[index]
                        values[index] = 0.5 * x * (1 + erff(x * 0.70710678118654752))
                    }
                }
            }
        }
    }
}

/// The MLP activations that CLIP configurations name in `hidden_act`.
public enum Activation: String, Sendable {
    /// `x * sigmoid(1.702 * x)`, the activation of OpenAI's CLIP and BGE-VL.
    case quickGELU = "quick_gelu"
    /// The exact GELU, `0.5 * x * (1 + erf(x / sqrt(2)))`.
    case gelu = "gelu"
}
