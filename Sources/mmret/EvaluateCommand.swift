import Foundation
import MMRet

/// `mmret evaluate`: scores the rankings that `search --queries` wrote against ground truth,
/// printing Recall@k (FashionIQ's metric) and mAP@k (CIRCO's) for each k.
enum EvaluateCommand {
    static func run(_ arguments: [String]) throws {
        let options = try CommandLineArguments(
            command: "evaluate", arguments: arguments,
            valueOptions: ["results", "ground-truth", "id-field", "target-field", "k"]
        )
        let resultsPath = try options.required("results")
        let truthPath = try options.required("ground-truth")
        let idField = options.optional("id-field") ?? "id"
        let targetField = options.optional("target-field") ?? "target"
        let cutoffs = try parseCutoffs(options.optional("k") ?? "5,10,25,50")

        // The rankings: {"query id": ["corpus id", ...]}.
        let rankings: [String: [String]]
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: resultsPath))
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw InputError("\(resultsPath) is not a JSON object of query ids")
            }
            var parsed: [String: [String]] = [:]
            for (query, value) in object {
                guard let ids = value as? [String] else {
                    throw InputError("\(resultsPath): the ranking of query '\(query)' is not a list of ids")
                }
                parsed[query] = ids
            }
            rankings = parsed
        } catch let error as InputError {
            throw error
        } catch {
            throw InputError("cannot read \(resultsPath): \(error.localizedDescription); write it with 'mmret search --queries'")
        }

        // The ground truth: one line per query, with its id and its correct id or ids.
        var recall = [Double](repeating: 0, count: cutoffs.count)
        var meanAveragePrecision = [Double](repeating: 0, count: cutoffs.count)
        let records = try JSONLines.readObjects(at: URL(fileURLWithPath: truthPath))
        for record in records {
            let location = "\(truthPath):\(record.lineNumber)"
            // Without an id field, search keys a query by its line number, and so does this.
            let id = record.object[idField].map { "\($0)" } ?? String(record.lineNumber)
            let relevant: Set<String>
            switch record.object[targetField] {
            case let single as String: relevant = [single]
            case let number as NSNumber: relevant = ["\(number)"]
            case let list as [Any]: relevant = Set(list.map { "\($0)" })
            case nil: throw InputError("\(location): missing field '\(targetField)'; name the field of correct ids with --target-field")
            default: throw InputError("\(location): field '\(targetField)' must be an id or a list of ids")
            }
            guard let ranked = rankings[id] else {
                throw InputError("\(location): query '\(id)' has no ranking in \(resultsPath)")
            }
            for (index, k) in cutoffs.enumerated() {
                recall[index] += RetrievalMetrics.hit(ranked: ranked, relevant: relevant, k: k)
                meanAveragePrecision[index] += RetrievalMetrics.averagePrecision(ranked: ranked, relevant: relevant, k: k)
            }
        }
        guard !records.isEmpty else {
            throw InputError("\(truthPath) has no queries")
        }

        if let largest = cutoffs.max(), let shortest = rankings.values.map(\.count).min(), shortest < largest {
            printDiagnostic(
                "warning: some rankings hold only \(shortest) ids, fewer than k = \(largest); unless the corpus is that small, run search with --top-k \(largest) or more"
            )
        }

        var output = "queries \(records.count)\n"
        for (index, k) in cutoffs.enumerated() {
            let count = Double(records.count)
            output += String(format: "Recall@%d %.4f\tmAP@%d %.4f\n", k, recall[index] / count, k, meanAveragePrecision[index] / count)
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }

    private static func parseCutoffs(_ text: String) throws(CommandLineError) -> [Int] {
        var cutoffs: [Int] = []
        for part in text.split(separator: ",") {
            guard let k = Int(part.trimmingCharacters(in: .whitespaces)), k >= 1 else {
                throw CommandLineError("--k must be a comma-separated list of positive integers, got '\(text)'")
            }
            cutoffs.append(k)
        }
        guard !cutoffs.isEmpty else {
            throw CommandLineError("--k must name at least one cut-off")
        }
        return cutoffs
    }
}
