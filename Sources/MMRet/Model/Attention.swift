import CKernels
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
    /// the most negative float. A query with no allowed key (a padding position) gets
    /// the same uniform weights as in transformers; see `spreadOverSinglyMaskedKeys`.
    func attention(_ queryKeyValue: Matrix, shape: AttentionShape, headCount: Int, mask: AttentionMask) -> Matrix {
        let width = queryKeyValue.columns / 3
        let headWidth = width / headCount
        let sequence = shape.sequence
        let stride = queryKeyValue.columns
        let scale = 1 / Float(headWidth).squareRoot()
        var output = Matrix(rows: queryKeyValue.rows, columns: width)

        queryKeyValue.values.withUnsafeBufferPointer { projections in
            output.values.withUnsafeMutableBufferPointer { outputBuffer in
                // Each (sequence, head) pair reads its own columns of the projections and
                // writes its own columns of the output, so the pairs run in parallel.
                let buffers = UncheckedSendable((projections.baseAddress!, outputBuffer.baseAddress!))
                parallelFor(shape.batch * headCount) { pairs in
                    let (projections, output) = buffers.value
                    var scores = [Float](repeating: 0, count: sequence * sequence)
                    scores.withUnsafeMutableBufferPointer { scoreBuffer in
                        for pair in pairs {
                            let item = pair / headCount
                            let head = pair % headCount
                            let rows = projections + item * sequence * stride
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
                                beta: 0, c: output + item * sequence * width + head * headWidth, ldc: width
                            )
                        }
                    }
                }
            }
        }
        return output
    }

    /// Gives a query that no key is allowed for the weights transformers computes for it.
    ///
    /// transformers adds the most negative float once for a key after the query (causal
    /// mask) and once for a padding key. A key masked by one rule then scores exactly that
    /// value, whatever its dot product, and a key masked by both scores -inf. So the
    /// softmax spreads evenly over the keys masked by exactly one rule. Only a padding
    /// position can have no allowed key, which matters when pooling picks one: with left
    /// padding by the end token, or for a row that is all padding.
    private func spreadOverSinglyMaskedKeys(
        _ row: UnsafeMutablePointer<Float>, query: Int, sequence: Int, keyIsValid: ArraySlice<Bool>, offset: Int
    ) {
        var count = 0
        for key in 0 ..< sequence {
            let maskedOnce = (key > query) != !keyIsValid[offset + key]
            row[key] = maskedOnce ? 1 : 0
            count += maskedOnce ? 1 : 0
        }
        // With no such key every score is -inf; PyTorch then yields NaN, and a zero
        // output is the safer value.
        guard count > 0 else { return }
        let weight = 1 / Float(count)
        for key in 0 ..< sequence {
            row[key] *= weight
        }
    }

    /// Turns each row of the `sequence × sequence` score matrix into probabilities over
    /// the keys that `mask` allows for sequence `item`.
    private func maskedSoftmax(_ scores: UnsafeMutablePointer<Float>, item: Int, sequence: Int, mask: AttentionMask) {
        let keyIsValid: ArraySlice<Bool>? = switch mask {
        case .none: nil
        case let .causal(valid): valid[item * sequence ..< (item + 1) * sequence]
        }
        let offset = item * sequence
        for query in 0 ..< sequence {
            let row = scores + query * sequence
            // Keys after the query are masked by causality; the rest by the padding mask,
            // as -infinity, which the softmax turns into probability exactly zero.
            let keyCount = keyIsValid == nil ? sequence : query + 1
            if let keyIsValid {
                for key in 0 ..< keyCount where !keyIsValid[offset + key] {
                    row[key] = -.infinity
                }
            }
            if mmret_softmax(row, keyCount) == 0, let keyIsValid {
                spreadOverSinglyMaskedKeys(row, query: query, sequence: sequence, keyIsValid: keyIsValid, offset: offset)
                continue
            }
            for key in keyCount ..< sequence {
                row[key] = 0
            }
        }
    }
}
