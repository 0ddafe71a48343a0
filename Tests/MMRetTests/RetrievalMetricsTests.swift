import Foundation
import Testing
@testable import MMRet

struct RetrievalMetricsTests {
    @Test func hitCountsAnyRelevantIDInTheFirstK() {
        let ranked = ["a", "b", "c", "d"]
        #expect(RetrievalMetrics.hit(ranked: ranked, relevant: ["c"], k: 2) == 0)
        #expect(RetrievalMetrics.hit(ranked: ranked, relevant: ["c"], k: 3) == 1)
        #expect(RetrievalMetrics.hit(ranked: ranked, relevant: ["x", "a"], k: 1) == 1)
        #expect(RetrievalMetrics.hit(ranked: [], relevant: ["a"], k: 5) == 0)
    }

    /// Worked by hand: relevant ids at ranks 1 and 3 of 5 give precisions 1/1 and 2/3.
    @Test func averagePrecisionFollowsTheCIRCODefinition() {
        let ranked = ["r1", "x", "r2", "y", "z"]
        let relevant: Set<String> = ["r1", "r2", "r3"]
        // min(k, 3) = 3 relevant ids could have been found in the first 5.
        #expect(abs(RetrievalMetrics.averagePrecision(ranked: ranked, relevant: relevant, k: 5) - (1 + 2.0 / 3) / 3) < 1e-12)
        // At k = 2 only r1 is in reach and the divisor is min(2, 3) = 2.
        #expect(abs(RetrievalMetrics.averagePrecision(ranked: ranked, relevant: relevant, k: 2) - 0.5) < 1e-12)
        #expect(RetrievalMetrics.averagePrecision(ranked: ["a", "b"], relevant: ["a", "b"], k: 2) == 1)
        #expect(RetrievalMetrics.averagePrecision(ranked: ["a", "a", "b"], relevant: ["a"], k: 3) == 1)
        #expect(RetrievalMetrics.averagePrecision(ranked: ["a"], relevant: [], k: 3) == 0)
    }

    /// The whole composed-retrieval evaluation through the binary: rank the held-out demo
    /// images for every composed query, then score the rankings. Recall@1 must clear the
    /// demo model's 0.8 bar and Recall@50 must be 1, since every target is in the corpus.
    @Test func searchThenEvaluateScoresTheDemoSet() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let heldOut = DemoModelTests.heldOutDirectory
        let queries = heldOut.appendingPathComponent("composed.jsonl").path
        let results = directory.appendingPathComponent("results.json").path

        let search = try CommandRun([
            "search", "--model", DemoModelTests.modelDirectory.path, "--image-dir", heldOut.appendingPathComponent("images").path,
            "--queries", queries, "--output", results, "--quiet",
        ])
        #expect(search.status == 0, "\(search.stderr)")
        let evaluate = try CommandRun(["evaluate", "--results", results, "--ground-truth", queries, "--k", "1,50"])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")

        var values: [String: Double] = [:]
        for line in evaluate.stdout.split(separator: "\n").dropFirst() {
            for pair in line.split(separator: "\t") {
                let parts = pair.split(separator: " ")
                values[String(parts[0])] = Double(parts[1])
            }
        }
        #expect(evaluate.stdout.hasPrefix("queries 120\n"), "\(evaluate.stdout)")
        #expect(try #require(values["Recall@1"]) >= 0.8)
        #expect(values["Recall@50"] == 1)
        #expect(values["mAP@1"] == values["Recall@1"], "with one target per query, AP@1 is the hit at rank 1")

        // Numeric ids, single or in a list, match the ids of the rankings as text.
        let numeric = directory.appendingPathComponent("numeric.json")
        try Data("{\"0\": [\"12\", \"3\"], \"1\": [\"4\", \"9\"]}".utf8).write(to: numeric)
        let numericTruth = directory.appendingPathComponent("numeric.jsonl")
        try Data("{\"id\": 0, \"target\": 12}\n{\"id\": 1, \"target\": [9, 4]}\n".utf8).write(to: numericTruth)
        let numericRun = try CommandRun(["evaluate", "--results", numeric.path, "--ground-truth", numericTruth.path, "--k", "1,2"])
        #expect(numericRun.status == 0, "\(numericRun.stderr)")
        #expect(numericRun.stdout == "queries 2\nRecall@1 1.0000\tmAP@1 1.0000\nRecall@2 1.0000\tmAP@2 1.0000\n", "\(numericRun.stdout)")

        let short = try CommandRun(["evaluate", "--results", numeric.path, "--ground-truth", numericTruth.path, "--k", "1,5"])
        #expect(short.stderr.contains("warning: some rankings hold only 2 ids, fewer than k = 5"), "\(short.stderr)")

        let missing = directory.appendingPathComponent("truth.jsonl")
        try Data("{\"id\": \"nope\", \"target\": \"001.png\"}\n".utf8).write(to: missing)
        let unknown = try CommandRun(["evaluate", "--results", results, "--ground-truth", missing.path])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("truth.jsonl:1: query 'nope' has no ranking"), "\(unknown.stderr)")
    }
}
