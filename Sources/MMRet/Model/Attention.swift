import Foundation

/// The batch layout of the rows that attention works on: `batch` sequences of `sequence`
/// consecutive rows each.
struct AttentionShape: Sendable {
    let batch: Int
    let sequence: Int
}

/// The rule that selects the keys each query may attend to.
enum AttentionMask: Sendable {
    /// Every key (the vision tower).
    case none
    /// Keys at or before the query's position whose entry in `keyIsValid`
    /// (`[batch * sequence]`, from the tokenizer's attention_mask) is true (the text tower).
    case causal(keyIsValid: [Bool])
}

extension ComputeContext {
    /// Multi-head scaled dot-product attention over the stacked projections
    /// `queryKeyValue`, `[batch * sequence, 3 * width]` (queries, then keys, then values).
    /// Returns the heads' outputs concatenated, `[batch * sequence, width]`, before the
    /// output projection.
    ///
    /// Masked keys get probability exactly zero, as with transformers' additive mask of
    /// the most negative float. A query with no valid key gets a zero output. Only a
    /// padding row can have none, and no unmasked row ever reads it.
    func attention(_ queryKeyValue: Matrix, shape: AttentionShape, headCount: Int, mask: AttentionMask) -> Matrix {
        let width = queryKeyValue.columns / 3
        let headWidth = width / headCount
        let sequence = shape.sequence
        let stride = queryKeyValue.columns
        let scale = 1 / Float(headWidth).squareRoot()
        var output = Matrix(rows: queryKeyValue.rows, columns: width)
        var scores = [Float](repeating: 0, count: sequence * sequence)

        queryKeyValue.values.withUnsafeBufferPointer { projections in
            output.values.withUnsafeMutableBufferPointer { outputBuffer in
                scores.withUnsafeMutableBufferPointer { scoreBuffer in
                    for item in 0 ..< shape.batch {
                        let rows = projections.baseAddress! + item * sequence * stride
                        for head in 0 ..< headCount {
                            let queries = rows + head * headWidth
                            let keys = rows + width + head * headWidth
                            let values = rows + 2 * width + head * headWidth

                            gemm.multiply(
                                transposeA: false, transposeB: true,
                                m: sequence, n: sequence, k: headWidth,
                                alpha: scale, a: queries, lda: stride, b: keys, ldb: stride,
                                beta: 0, c: scoreBuffer.baseAddress!, ldc: sequence
                            )
                            maskedSoftmax(scoreBuffer.baseAddress!, item: item, sequence: sequence, mask: mask)
                            gemm.multiply(
                                transposeA: false, transposeB: false,
                                m: sequence, n: headWidth, k: sequence,
                                alpha: 1, a: scoreBuffer.baseAddress!, lda: sequence, b: values, ldb: stride,
                                beta: 0, c: outputBuffer.baseAddress! + item * sequence * width + head * headWidth, ldc: width
                            )
                        }
                    }
                }
            }
        }
        return output
    }

    /// Turns each row of the `sequence × sequence` score matrix into probabilities over
    /// the keys that `mask` allows for sequence `item`.
    private func maskedSoftmax(_ scores: UnsafeMutablePointer<Float>, item: Int, sequence: Int, mask: AttentionMask) {
        let valid: [Bool]? = switch mask {
        case .none: nil
        case let .causal(keyIsValid): Array(keyIsValid[item * sequence ..< (item + 1) * sequence])
        }
        let shared = UncheckedSendable(scores)
        // Rows are independent; each chunk writes only its own rows.
        parallelFor(sequence, minimumChunk: 32) { queries in
            let scores = shared.value
            for query in queries {
                let row = scores + query * sequence
                let keyCount = valid == nil ? sequence : query + 1
                var maximum = -Float.infinity
                for key in 0 ..< keyCount where valid?[key] ?? true {
                    maximum = max(maximum, row[key])
                }
                guard maximum > -Float.infinity else {
                    for key in 0 ..< sequence { row[key] = 0 }
                    continue
                }
                var sum: Float = 0
                for key in 0 ..< keyCount {
                    if valid?[key] ?? true {
                        let probability = expf(row[key] - maximum)
                        row[key] = probability
                        sum += probability
                    } else {
                        row[key] = 0
                    }
                }
                let inverse = 1 / sum
                for key in 0 ..< keyCount {
                    row[key] *= inverse
                }
                for key in keyCount ..< sequence {
                    row[key] = 0
                }
            }
        }
    }
}
