import CKernels
import Foundation
import Testing
@testable import MMRet

/// The packed bf16 matmul against a Double product of the same bf16-rounded inputs.
struct BF16MatmulTests {
    /// Rounds to bfloat16 and back: the values the matmul multiplies.
    func roundedToBF16(_ values: [Float]) -> [Float] {
        var packed = [UInt16](repeating: 0, count: values.count)
        mmret_f32_to_bf16(values, &packed, values.count)
        var widened = [Float](repeating: 0, count: values.count)
        mmret_bf16_to_f32(packed, &widened, values.count)
        return widened
    }

    @Test(arguments: [1, 7, 20, 197, 300])
    func matmulMatchesDoubleProduct(rows: Int) {
        let (inputs, outputs) = (96, 80)
        let source = (0 ..< rows * inputs).map { Float(($0 * 7919) % 23) / 11 - 1 }
        let weight = Matrix(rows: outputs, columns: inputs, values: (0 ..< outputs * inputs).map { Float(($0 * 104_729) % 19) / 9 - 1 })
        let bias = (0 ..< outputs).map { Float($0 % 5) - 2 }
        let residual = (0 ..< rows * outputs).map { Float($0 % 3) }
        let packed = PackedWeights(weight: weight, precision: .bf16)

        let roundedSource = roundedToBF16(source)
        let roundedWeight = roundedToBF16(weight.values)
        var sourceBF16 = [UInt16](repeating: 0, count: source.count)
        mmret_f32_to_bf16(source, &sourceBF16, source.count)

        var plain = [Float](repeating: 0, count: rows * outputs)
        var accumulated = residual
        var activated = [UInt16](repeating: 0, count: rows * outputs)
        sourceBF16.withUnsafeBufferPointer { sourcePointer in
            bias.withUnsafeBufferPointer { biasPointer in
                plain.withUnsafeMutableBytes { output in
                    OneDNNMatmul.multiply(source: sourcePointer.baseAddress!, rows: rows, weights: packed, bias: biasPointer.baseAddress,
                                          activation: nil, destination: output.baseAddress!, output: .float32, accumulate: false)
                }
                accumulated.withUnsafeMutableBytes { output in
                    OneDNNMatmul.multiply(source: sourcePointer.baseAddress!, rows: rows, weights: packed, bias: biasPointer.baseAddress,
                                          activation: nil, destination: output.baseAddress!, output: .float32, accumulate: true)
                }
                activated.withUnsafeMutableBytes { output in
                    OneDNNMatmul.multiply(source: sourcePointer.baseAddress!, rows: rows, weights: packed, bias: biasPointer.baseAddress,
                                          activation: .quickGELU, destination: output.baseAddress!, output: .bfloat16, accumulate: false)
                }
            }
        }
        var activatedFloat = [Float](repeating: 0, count: activated.count)
        mmret_bf16_to_f32(activated, &activatedFloat, activated.count)

        for row in 0 ..< rows {
            for column in 0 ..< outputs {
                var sum = Double(bias[column])
                for inner in 0 ..< inputs {
                    sum += Double(roundedSource[row * inputs + inner]) * Double(roundedWeight[column * inputs + inner])
                }
                let index = row * outputs + column
                #expect(abs(Double(plain[index]) - sum) <= 1e-3, "row \(row) column \(column)")
                #expect(abs(Double(accumulated[index]) - sum - Double(residual[index])) <= 1e-3, "row \(row) column \(column)")
                let gelu = sum / (1 + exp(-1.702 * sum))
                // The bf16 output keeps 8 significant bits.
                #expect(abs(Double(activatedFloat[index]) - gelu) <= 1e-2 * max(1, abs(gelu)), "row \(row) column \(column)")
            }
        }
    }

    /// More row counts than the primitive cache holds: the cache starts over and a row
    /// count seen before the eviction still multiplies correctly.
    @Test func primitiveCacheEvictionKeepsResults() {
        let (inputs, outputs) = (16, 8)
        let weight = Matrix(rows: outputs, columns: inputs, values: (0 ..< outputs * inputs).map { Float($0 % 7) - 3 })
        let packed = PackedWeights(weight: weight, precision: .fp32)
        for rows in [1] + Array(2 ... 600) + [1] {
            let source = (0 ..< rows * inputs).map { Float(($0 + rows) % 5) - 2 }
            var output = [Float](repeating: 0, count: rows * outputs)
            source.withUnsafeBytes { sourceBytes in
                output.withUnsafeMutableBytes { destination in
                    OneDNNMatmul.multiply(source: sourceBytes.baseAddress!, rows: rows, weights: packed, bias: nil, activation: nil,
                                          destination: destination.baseAddress!, output: .float32, accumulate: false)
                }
            }
            // Spot-check the last row; the values are small integers, so the sum is exact.
            let row = rows - 1
            for column in 0 ..< outputs {
                let expected = (0 ..< inputs).reduce(Float(0)) { $0 + source[row * inputs + $1] * weight[column, $1] }
                #expect(output[row * outputs + column] == expected, "rows \(rows) column \(column)")
            }
        }
    }

    /// With AVX512-BF16, every shape of the BGE-VL layers must run on oneDNN's brgemm
    /// kernels, in both precisions, with the packed layout chosen at load. Another kernel
    /// would give the same values much more slowly.
    @Test(arguments: [1, 20, 197, 1576])
    func packedWeightsUseFastKernel(rows: Int) throws {
        try #require(mmret_has_avx512_bf16() != 0, "processor without AVX512-BF16")
        for precision in Precision.allCases {
            for (inputs, outputs) in [(768, 2304), (768, 768), (768, 3072), (3072, 768), (512, 2048)] {
                let packed = PackedWeights(weight: Matrix(rows: outputs, columns: inputs), precision: precision)
                let name = OneDNNMatmul.implementationName(rows: rows, weights: packed)
                #expect(name.hasPrefix("brg"), "\(precision) \(rows)x\(inputs)x\(outputs) runs on \(name)")
            }
        }
    }
}
