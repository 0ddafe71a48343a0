/// Fixed operands for timing one GEMM shape, so that benchmarks can measure the rate the
/// model's GEMMs could reach on this machine.
public final class GEMMRateProbe: @unchecked Sendable {
    // Written only in `init`; each `multiply` call writes `output`, so one probe must
    // not run on two threads at once.
    private let input: [Float]
    private let inputBF16: [UInt16]
    private let weight: Matrix
    private let packed: PackedBF16Weights?
    private var output: [Float]
    private let precision: Precision
    private let backend: any GEMMBackend

    /// Creates operands for `[rows, inputs] · [outputs, inputs]ᵀ`, as a linear layer
    /// multiplies them, in `precision`. Returns nil for bf16 where oneDNN cannot run it.
    public init?(rows: Int, inputs: Int, outputs: Int, precision: Precision, backend: any GEMMBackend) {
        if precision == .bf16 && !OneDNNMatmul.supportsBF16() {
            return nil
        }
        input = (0 ..< rows * inputs).map { Float($0 % 17) / 17 - 0.5 }
        weight = Matrix(rows: outputs, columns: inputs, values: (0 ..< outputs * inputs).map { Float($0 % 13) / 13 - 0.5 })
        output = [Float](repeating: 0, count: rows * outputs)
        self.precision = precision
        self.backend = backend
        if precision == .bf16 {
            packed = PackedBF16Weights(weight: weight)
            inputBF16 = ComputeContext(threadCount: 1).roundedToBF16(input)
        } else {
            packed = nil
            inputBF16 = []
        }
    }

    /// Runs the multiply once on the calling thread.
    public func multiply() {
        let rows = output.count / weight.rows
        if let packed {
            inputBF16.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBytes { destination in
                    OneDNNMatmul.multiply(source: source.baseAddress!, rows: rows, weights: packed, bias: nil, activation: nil,
                                          destination: destination.baseAddress!, output: .float32, accumulate: false)
                }
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
