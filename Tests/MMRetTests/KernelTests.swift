import Foundation
import Testing
@testable import MMRet

/// Small hand-checked cases for the kernels under the model, on both GEMM backends.
struct KernelTests {
    static let backends: [any GEMMBackend] = [OpenBLASBackend(), OneDNNBackend()]

    /// `C = alpha * op(A) * op(B) + beta * C` computed directly in Double.
    func naiveProduct(
        _ a: [Float], _ b: [Float], _ c: [Float], m: Int, n: Int, k: Int,
        transposeA: Bool, transposeB: Bool, lda: Int, ldb: Int, ldc: Int, alpha: Float, beta: Float
    ) -> [Float] {
        var result = c
        for row in 0 ..< m {
            for column in 0 ..< n {
                var sum = 0.0
                for inner in 0 ..< k {
                    let left = transposeA ? a[inner * lda + row] : a[row * lda + inner]
                    let right = transposeB ? b[column * ldb + inner] : b[inner * ldb + column]
                    sum += Double(left) * Double(right)
                }
                result[row * ldc + column] = Float(Double(alpha) * sum + Double(beta) * Double(c[row * ldc + column]))
            }
        }
        return result
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func gemmMatchesNaiveProduct(transposeA: Bool, transposeB: Bool) {
        let (m, n, k) = (5, 7, 3)
        // Leading dimensions wider than the rows, as attention uses them.
        let lda = (transposeA ? m : k) + 2
        let ldb = (transposeB ? k : n) + 1
        let ldc = n + 3
        let a = (0 ..< (transposeA ? k : m) * lda).map { Float($0 % 11) * 0.25 - 1 }
        let b = (0 ..< (transposeB ? n : k) * ldb).map { Float($0 % 7) * 0.5 - 1.5 }
        let c = (0 ..< m * ldc).map { Float($0 % 5) }
        let expected = naiveProduct(a, b, c, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                    lda: lda, ldb: ldb, ldc: ldc, alpha: 0.5, beta: 2)
        for backend in Self.backends {
            var output = c
            output.withUnsafeMutableBufferPointer { cBuffer in
                backend.multiply(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                    alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                    beta: 2, c: cBuffer.baseAddress!, ldc: ldc
                )
            }
            for index in output.indices {
                #expect(abs(output[index] - expected[index]) <= 1e-5, "\(backend.name) at \(index): \(output[index]) vs \(expected[index])")
            }
        }
    }

    @Test func linearAddsBias() {
        let context = ComputeContext(gemm: OneDNNBackend(), threadCount: 2)
        let input = Matrix(rows: 2, columns: 3, values: [1, 2, 3, -1, 0, 1])
        let weight = Matrix(rows: 2, columns: 3, values: [1, 0, 0, 0.5, 0.5, 0.5])
        let output = context.linear(input, weight: weight, bias: [10, 20])
        #expect(output.values == [11, 23, 9, 20])
    }

    @Test func linearAddingInPlaceKeepsResidual() {
        let context = ComputeContext(gemm: OpenBLASBackend(), threadCount: 1)
        let input = Matrix(rows: 1, columns: 2, values: [2, 3])
        let weight = Matrix(rows: 2, columns: 2, values: [1, 1, 0, 1])
        var residual = Matrix(rows: 1, columns: 2, values: [100, 200])
        context.linearAddingInPlace(input, weight: weight, bias: [1, 2], to: &residual)
        #expect(residual.values == [106, 205])
    }

    @Test func layerNormNormalisesEachRow() {
        let context = ComputeContext(threadCount: 2)
        let input = Matrix(rows: 2, columns: 4, values: [1, 2, 3, 4, 10, 10, 10, 10])
        let output = context.layerNorm(input, weight: [1, 2, 1, 1], bias: [0, 0, 0, 0.5], eps: 1e-5)
        // Row 0: mean 2.5, biased variance 1.25.
        let scale = 1 / (1.25 + 1e-5).squareRoot()
        let expected: [Double] = [-1.5 * scale, -0.5 * scale * 2, 0.5 * scale, 1.5 * scale + 0.5, 0, 0, 0, 0.5]
        for index in expected.indices {
            #expect(abs(Double(output.values[index]) - expected[index]) <= 1e-6, "index \(index): \(output.values[index]) vs \(expected[index])")
        }
    }

    @Test func activationsMatchTheirFormulas() {
        let context = ComputeContext(threadCount: 1)
        let inputs: [Float] = [-3, -1, 0, 0.5, 2]
        var quick = Matrix(rows: 1, columns: 5, values: inputs)
        context.activate(&quick, .quickGELU)
        var exact = Matrix(rows: 1, columns: 5, values: inputs)
        context.activate(&exact, .gelu)
        for (index, x) in inputs.enumerated() {
            let value = Double(x)
            let expectedQuick = value / (1 + Foundation.exp(-1.702 * value))
            let expectedExact = 0.5 * value * (1 + Foundation.erf(value / 2.0.squareRoot()))
            #expect(abs(Double(quick.values[index]) - expectedQuick) <= 1e-6, "quick_gelu(\(x))")
            #expect(abs(Double(exact.values[index]) - expectedExact) <= 1e-6, "gelu(\(x))")
        }
    }

    /// One head, width 2: with identical keys every allowed key gets the same weight, so
    /// each output row is the mean of the values it may see.
    @Test func causalMaskAveragesAllowedValues() {
        let context = ComputeContext(threadCount: 1)
        let sequence = 4
        var rows: [Float] = []
        for position in 0 ..< sequence {
            let value = Float(position + 1) * 10
            rows += [1, 1] + [1, 1] + [value, -value]  // query, key, value
        }
        let stacked = Matrix(rows: sequence, columns: 6, values: rows)
        // Position 2 is padding: no query may attend to it.
        let mask = AttentionMask.causal(keyIsValid: [true, true, false, true])
        let output = context.attention(stacked, shape: AttentionShape(batch: 1, sequence: sequence), headCount: 1, mask: mask)
        let expected: [Float] = [10, 15, 15, (10 + 20 + 40) / 3]
        for position in 0 ..< sequence {
            #expect(abs(output[position, 0] - expected[position]) <= 1e-5, "position \(position): \(output[position, 0])")
            #expect(abs(output[position, 1] + expected[position]) <= 1e-5, "position \(position): \(output[position, 1])")
        }
    }

    @Test func unmaskedAttentionSeesEveryKey() {
        let context = ComputeContext(threadCount: 1)
        // Query [0, ln 3 * sqrt 2]: the second key scores ln 3 higher after scaling, so
        // the weights are 1/4 and 3/4.
        let score = Float(log(3.0) * 2.0.squareRoot())
        let stacked = Matrix(rows: 2, columns: 6, values: [
            0, score, 0, 0, 4, 8,
            0, score, 0, 1, 8, 0,
        ])
        let output = context.attention(stacked, shape: AttentionShape(batch: 1, sequence: 2), headCount: 1, mask: .none)
        for row in 0 ..< 2 {
            #expect(abs(output[row, 0] - 7) <= 1e-5, "row \(row): \(output[row, 0])")
            #expect(abs(output[row, 1] - 2) <= 1e-5, "row \(row): \(output[row, 1])")
        }
    }

    @Test func shardsStackInOrder() {
        let context = ComputeContext(threadCount: 2)
        let stacked = context.stackingShards(of: 5) { items, shardContext in
            #expect(shardContext.threadCount == 1)
            return Matrix(rows: items.count, columns: 1, values: items.map { Float($0) })
        }
        #expect(stacked.values == [0, 1, 2, 3, 4])
        let single = context.stackingShards(of: 1) { items, shardContext in
            #expect(shardContext.threadCount == 2)
            return Matrix(rows: items.count, columns: 1, values: [7])
        }
        #expect(single.values == [7])
    }
}
