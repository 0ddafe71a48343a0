/// Ranking metrics of composed image retrieval benchmarks, computed from ranked ids and the
/// set of correct ids of each query.
public enum RetrievalMetrics {
    /// Returns 1 when one of the first `k` ranked ids is relevant, else 0: a query's share
    /// of Recall@k, the FashionIQ metric.
    public static func hit(ranked: [String], relevant: Set<String>, k: Int) -> Double {
        ranked.prefix(k).contains(where: relevant.contains) ? 1 : 0
    }

    /// Returns the average precision at `k` as CIRCO defines it: the precision at each rank
    /// up to `k` that has a relevant id, summed, divided by `min(k, relevant.count)`.
    /// A query without relevant ids scores 0.
    public static func averagePrecision(ranked: [String], relevant: Set<String>, k: Int) -> Double {
        guard !relevant.isEmpty, k > 0 else { return 0 }
        var found = 0
        var sum = 0.0
        // An id listed twice counts once, at its first rank.
        var seen = Set<String>()
        for (index, id) in ranked.prefix(k).enumerated() where relevant.contains(id) && seen.insert(id).inserted {
            found += 1
            sum += Double(found) / Double(index + 1)
        }
        return sum / Double(min(k, relevant.count))
    }
}
