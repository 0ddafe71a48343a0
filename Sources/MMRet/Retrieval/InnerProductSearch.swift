/// One corpus row found for a query: its row index and its inner product with the query.
public struct SearchHit: Sendable, Equatable {
    public let row: Int
    public let score: Float
}

/// Exact inner-product search over a corpus of embeddings, the flat index that the
/// reference evaluation uses. With normalised embeddings the score is the cosine similarity.
public struct InnerProductSearch: Sendable {
    public let corpus: Embeddings

    public init(corpus: Embeddings) {
        self.corpus = corpus
    }

    /// Returns the `k` rows with the largest inner product with `query`, best first. Equal
    /// scores keep corpus order, so results are deterministic.
    ///
    /// - Precondition: `query.count == corpus.dimension`.
    public func topK(_ query: [Float], k: Int) -> [SearchHit] {
        precondition(query.count == corpus.dimension, "a query of \(query.count) values cannot match rows of \(corpus.dimension)")
        let dimension = corpus.dimension
        var hits: [SearchHit] = []
        hits.reserveCapacity(min(k, corpus.rows) + 1)
        corpus.values.withUnsafeBufferPointer { values in
            for row in 0 ..< corpus.rows {
                var score: Float = 0
                let start = row * dimension
                for index in 0 ..< dimension {
                    score += values[start + index] * query[index]
                }
                Self.insert(SearchHit(row: row, score: score), into: &hits, k: k)
            }
        }
        return hits
    }

    /// Returns the `k` best rows for every row of `queries`, in query order, each list best
    /// first with ties in corpus order.
    ///
    /// Scores come from GEMM over blocks of corpus rows, so memory stays at one block of
    /// scores per query. Summation order differs from the single-query loop, so scores can
    /// differ from it by float rounding.
    ///
    /// - Precondition: `queries.dimension == corpus.dimension`.
    public func topK(queries: Embeddings, k: Int, context: ComputeContext = ComputeContext()) -> [[SearchHit]] {
        precondition(queries.dimension == corpus.dimension, "queries of \(queries.dimension) values cannot match rows of \(corpus.dimension)")
        var results = [[SearchHit]](repeating: [], count: queries.rows)
        guard queries.rows > 0, corpus.rows > 0, k > 0 else { return results }
        let dimension = corpus.dimension
        let blockRows = 4096
        var scores = [Float](repeating: 0, count: queries.rows * min(blockRows, corpus.rows))

        queries.values.withUnsafeBufferPointer { queryValues in
            corpus.values.withUnsafeBufferPointer { corpusValues in
                scores.withUnsafeMutableBufferPointer { scoreBuffer in
                    results.withUnsafeMutableBufferPointer { resultBuffer in
                        let shared = UncheckedSendable((scoreBuffer, resultBuffer))
                        for blockStart in stride(from: 0, to: corpus.rows, by: blockRows) {
                            let rows = min(blockRows, corpus.rows - blockStart)
                            context.multiplyRows(
                                transposeB: true, m: queries.rows, n: rows, k: dimension,
                                a: queryValues.baseAddress!, lda: dimension,
                                b: corpusValues.baseAddress! + blockStart * dimension, ldb: dimension,
                                beta: 0,
                                c: scoreBuffer.baseAddress!, ldc: rows
                            )
                            // Each query merges its own block of scores into its own list.
                            context.parallelFor(queries.rows) { queryRange in
                                let (scoreBuffer, resultBuffer) = shared.value
                                for query in queryRange {
                                    var hits = resultBuffer[query]
                                    for offset in 0 ..< rows {
                                        Self.insert(SearchHit(row: blockStart + offset, score: scoreBuffer[query * rows + offset]), into: &hits, k: k)
                                    }
                                    resultBuffer[query] = hits
                                }
                            }
                        }
                    }
                }
            }
        }
        return results
    }

    /// Inserts `hit` into `hits`, a list of at most `k` sorted best first, after any equal
    /// scores, dropping the worst hit beyond `k`.
    static func insert(_ hit: SearchHit, into hits: inout [SearchHit], k: Int) {
        if hits.count == k, let last = hits.last, hit.score <= last.score {
            return
        }
        let position = hits.firstIndex { $0.score < hit.score } ?? hits.count
        hits.insert(hit, at: position)
        if hits.count > k {
            hits.removeLast()
        }
    }
}
