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
                // Keep the best k seen so far, sorted; a new hit goes after equal scores.
                if hits.count == k, let last = hits.last, score <= last.score {
                    continue
                }
                let position = hits.firstIndex { $0.score < score } ?? hits.count
                hits.insert(SearchHit(row: row, score: score), at: position)
                if hits.count > k {
                    hits.removeLast()
                }
            }
        }
        return hits
    }
}
