import Dispatch
import Foundation
import MMRet

/// `mmret bench-tokenizer`: measures tokens per second of `CLIPTokenizer` on the texts of a
/// JSON Lines file, at max_length 77.
///
/// A first pass runs with an empty BPE cache and is reported as cold. Then `timedRuns` passes
/// run single-threaded and `timedRuns` as a batch on every core, and the fastest of each is
/// reported. tools/bench/tokenizer_bench.py measures the Python `tokenizers` library the same way.
enum TokenizerBenchCommand {
    static let timedRuns = 5

    static func run(_ arguments: [String]) throws {
        let options = try CommandLineArguments(
            command: "bench-tokenizer", arguments: arguments, valueOptions: ["model", "input", "text-field"]
        )
        let directory = try options.directory("model")
        let input = URL(fileURLWithPath: try options.required("input"))
        let textField = options.optional("text-field") ?? "text"

        let texts = try JSONLines.readStrings(at: input, field: textField)
        guard !texts.isEmpty else {
            throw BenchInputError(description: "\(input.path) contains no texts; give a JSON Lines file with one {\"\(textField)\": ...} object per line")
        }
        let tokenizer = try CLIPTokenizer(directory: directory)
        let threads = ProcessInfo.processInfo.activeProcessorCount

        let (tokenCount, coldSeconds) = measure { encodeSingly(texts, tokenizer) }
        var singleSeconds = Double.infinity
        var batchSeconds = Double.infinity
        for _ in 0..<timedRuns {
            singleSeconds = min(singleSeconds, measure { encodeSingly(texts, tokenizer) }.seconds)
            batchSeconds = min(batchSeconds, measure { encodeBatch(texts, tokenizer, threads) }.seconds)
        }

        print("texts: \(texts.count), tokens: \(tokenCount) (max_length \(CLIPTokenizer.defaultMaxLength))")
        print(line("single thread, cold cache", tokenCount, coldSeconds))
        print(line("single thread", tokenCount, singleSeconds))
        print(line("batch, \(threads) threads", tokenCount, batchSeconds))
    }

    /// An input file with nothing to measure: a data error (exit status 1), not a usage error.
    struct BenchInputError: Error, CustomStringConvertible {
        let description: String
    }

    private static func encodeSingly(_ texts: [String], _ tokenizer: CLIPTokenizer) -> Int {
        var tokens = 0
        for text in texts {
            tokens += tokenizer.encode(text).count
        }
        return tokens
    }

    private static func encodeBatch(_ texts: [String], _ tokenizer: CLIPTokenizer, _ threads: Int) -> Int {
        tokenizer.encodeBatch(texts, maxLength: CLIPTokenizer.defaultMaxLength, threadCount: threads).lengths.reduce(0, +)
    }

    private static func measure(_ body: () -> Int) -> (tokens: Int, seconds: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let tokens = body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (tokens, seconds)
    }

    private static func line(_ label: String, _ tokens: Int, _ seconds: Double) -> String {
        let rate = Double(tokens) / seconds
        return "\(label): \(String(format: "%.0f", rate)) tokens/s (\(String(format: "%.1f", seconds * 1000)) ms)"
    }
}
