import Foundation
import Testing
@testable import MMRet

/// Fixture paths and shared values of the tokenizer tests.
enum TokenizerTestSupport {
    static let fixtures = TestFixtures.root
    static let tokenizerDirectory = fixtures.appendingPathComponent("clip-tokenizer")
    static let goldenCorpus = fixtures.appendingPathComponent("tokenizer-golden.jsonl")

    /// The fixture tokenizer, loaded once through tokenizer.json.
    static let tokenizer: Result<CLIPTokenizer, TokenizerError> = Result { () throws(TokenizerError) in
        try CLIPTokenizer(directory: tokenizerDirectory)
    }

    /// One line of the golden corpus: the ids transformers' CLIPTokenizerFast returns.
    struct GoldenCase: Sendable {
        let lineNumber: Int
        let text: String
        let ids77: [Int32]
        let ids75: [Int32]
    }

    static let goldenCases: Result<[GoldenCase], JSONLinesError> = Result { () throws(JSONLinesError) in
        try JSONLines.readObjects(at: goldenCorpus).map { record in
            GoldenCase(
                lineNumber: record.lineNumber,
                text: record.object["text"] as? String ?? "",
                ids77: (record.object["ids77"] as? [Int] ?? []).map { Int32($0) },
                ids75: (record.object["ids75"] as? [Int] ?? []).map { Int32($0) }
            )
        }
    }

    /// Creates a fresh empty directory under the system's temporary folder.
    static func temporaryDirectory() throws -> URL {
        try TestFixtures.temporaryDirectory()
    }

    /// Copies the named fixture tokenizer files into a fresh temporary directory.
    static func copyTokenizerFiles(_ names: [String]) throws -> URL {
        let directory = try temporaryDirectory()
        for name in names {
            try FileManager.default.copyItem(
                at: tokenizerDirectory.appendingPathComponent(name), to: directory.appendingPathComponent(name)
            )
        }
        return directory
    }

    /// Describes every golden case whose ids differ, with the text, the first differing
    /// position and both id lists.
    static func mismatches(
        of tokenizer: CLIPTokenizer, cases: [GoldenCase], maxLength: Int, expected: (GoldenCase) -> [Int32]
    ) -> [String] {
        var messages: [String] = []
        for golden in cases {
            let actual = tokenizer.encode(golden.text, maxLength: maxLength)
            let expectedIds = expected(golden)
            guard actual != expectedIds else { continue }
            let position = (0..<min(actual.count, expectedIds.count)).first { actual[$0] != expectedIds[$0] } ?? min(actual.count, expectedIds.count)
            let escaped = golden.text.unicodeScalars.map { $0.escaped(asASCII: true) }.joined()
            messages.append(
                "line \(golden.lineNumber) text \"\(escaped)\" max_length \(maxLength): first difference at index \(position)\n"
                    + "  expected \(expectedIds)\n  actual   \(actual)"
            )
        }
        return messages
    }
}
