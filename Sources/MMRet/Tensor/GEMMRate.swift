/// Fixed operands for timing one GEMM shape, so that benchmarks can measure the rate the
/// model's GEMMs could reach on this machine.
public final class GEMMRateProbe: @unchecked Sendable {
    // Written only in `init`; each `multiply` call writes `output`, so one probe must
    // not run on two threads at once.
    private let input: [Float]
    private let inputBF16: [UInt16]
    private let weight: Matrix
    private let packed: PackedWeights?
    private var output: [Float]
    private let precision: Precision
    private let backend: any GEMMBackend

    /// Creates operands for `[rows, inputs] · [outputs, inputs]ᵀ`, as a linear layer
    /// multiplies them, in `precision`. With `packed`, the weights are packed for oneDNN's
    /// matmul as the model packs them, and `backend` is not used. Returns nil where
    /// oneDNN cannot run that matmul.
    public init?(rows: Int, inputs: Int, outputs: Int, precision: Precision, packed: Bool, backend: any GEMMBackend) {
        if precision == .bf16 && !packed {
            return nil
        }
        if packed && !OneDNNMatmul.supports(precision) {
            return nil
        }
        input = (0 ..< rows * inputs).map { Float($0 % 17) / 17 - 0.5 }
        weight = Matrix(rows: outputs, columns: inputs, values: (0 ..< outputs * inputs).map { Float($0 % 13) / 13 - 0.5 })
        output = [Float](repeating: 0, count: rows * outputs)
        self.precision = precision
        self.backend = backend
        self.packed = packed ? PackedWeights(weight: weight, precision: precision) : nil
        inputBF16 = precision == .bf16 ? ComputeContext(threadCount: 1).matmulInput(input, as: UInt16.self) : []
    }

    /// Runs the multiply once on the calling thread.
    public func multiply() {
        let rows = output.count / weight.rows
        if let packed {
            let multiply = { (source: UnsafeRawBufferPointer) in
                self.output.withUnsafeMutableBytes { destination in
                    OneDNNMatmul.multiply(source: source.baseAddress!, rows: rows, weights: packed, bias: nil, activation: nil,
                                          destination: destination.baseAddress!, output: .float32, accumulate: false)
                }
            }
            if precision == .bf16 {
                inputBF16.withUnsafeBytes(multiply)
            } else {
                input.withUnsafeBytes(multiply)
            }
            return
        }
        input.withUnsafeBufferPointer { a in
            weight.values.withUnsafeBufferPointer { b in
                output.withUnsafeMutableBufferPointer { c in
                    backend.multiply(transposeA: false, transposeB: true, m: rows, n: weight.rows, k: weight.columns,
                                     alpha: 1, a: a.baseAddress!, lda: weight.columns, b: b.baseAddress!, ldb: weight.columns,
                                     beta: 0, c: c.baseAddress!, ldc: weight.rows)
                }
            }
        }
    }
}
