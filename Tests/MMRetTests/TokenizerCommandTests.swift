import Foundation
import Testing
@testable import MMRet

/// JSON Lines reading and the `mmret tokenize` command, run as a subprocess.
struct TokenizerCommandTests {
    private func run(_ arguments: [String]) throws -> CommandRun {
        try CommandRun(arguments)
    }

    private func writeFile(_ bytes: [UInt8], in directory: URL, name: String = "input.jsonl") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    // MARK: JSON Lines

    @Test func jsonLinesReadsFieldsInOrder() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try writeFile(Array("\u{FEFF}{\"text\": \"a\"}\r\n{\"text\": \"b\", \"id\": 2}\n{\"text\": \"\"}".utf8), in: directory)
        #expect(try JSONLines.readStrings(at: url, field: "text") == ["a", "b", ""])
    }

    @Test func jsonLinesRejectsInvalidUTF8() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try writeFile(Array("{\"text\": \"ok\"}\n{\"text\": \"".utf8) + [0xFF] + Array("\"}\n".utf8), in: directory)
        #expect(throws: JSONLinesError.invalidUTF8(path: url.path, line: 2)) {
            try JSONLines.readObjects(at: url)
        }
    }

    @Test func jsonLinesRejectsInvalidJSON() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try writeFile(Array("{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"text\": \n".utf8), in: directory)
        #expect {
            try JSONLines.readObjects(at: url)
        } throws: { error in
            guard case JSONLinesError.invalidJSON(let path, let line, _) = error else { return false }
            return path == url.path && line == 3
        }
    }

    @Test func jsonLinesRejectsEmptyLineAndNonObject() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = try writeFile(Array("{\"text\": \"ok\"}\n\n{\"text\": \"ok\"}\n".utf8), in: directory, name: "empty.jsonl")
        #expect(throws: JSONLinesError.emptyLine(path: empty.path, line: 2)) {
            try JSONLines.readObjects(at: empty)
        }
        let array = try writeFile(Array("[1, 2]\n".utf8), in: directory, name: "array.jsonl")
        #expect(throws: JSONLinesError.notAnObject(path: array.path, line: 1)) {
            try JSONLines.readObjects(at: array)
        }
    }

    @Test func jsonLinesIgnoresTrailingBlankLines() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try writeFile(Array("{\"text\": \"a\"}\n{\"text\": \"b\"}\n\n \r\n\n".utf8), in: directory)
        #expect(try JSONLines.readStrings(at: url, field: "text") == ["a", "b"])
    }

    @Test func jsonLinesRejectsDirectory() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: JSONLinesError.unreadableFile(path: directory.path, reason: "it is a directory, not a JSON Lines file")) {
            try JSONLines.readObjects(at: directory)
        }
    }

    @Test func jsonLinesReportsMissingAndNonStringField() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try writeFile(Array("{\"text\": \"ok\"}\n{\"caption\": \"x\"}\n".utf8), in: directory)
        #expect(throws: JSONLinesError.missingField(path: url.path, line: 2, field: "text")) {
            try JSONLines.readStrings(at: url, field: "text")
        }
        let number = try writeFile(Array("{\"caption\": 3}\n".utf8), in: directory, name: "number.jsonl")
        #expect(throws: JSONLinesError.fieldNotString(path: number.path, line: 1, field: "caption")) {
            try JSONLines.readStrings(at: number, field: "caption")
        }
    }

    // MARK: mmret tokenize

    @Test func tokenizePrintsIdsPerLine() throws {
        let tokenizer = try TokenizerTestSupport.tokenizer.get()
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let texts = ["a photo of a cat", "", "It’s <|ENDOFTEXT|> 日本語", String(repeating: "long ", count: 100)]
        var lines = ""
        for text in texts {
            let data = try JSONSerialization.data(withJSONObject: ["caption": text])
            lines += String(decoding: data, as: UTF8.self) + "\n"
        }
        let input = try writeFile(Array(lines.utf8), in: directory)

        let result = try run([
            "tokenize", "--model", TokenizerTestSupport.tokenizerDirectory.path, "--input", input.path,
            "--text-field", "caption", "--max-length", "75",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let expected = texts.map { "[" + tokenizer.encode($0, maxLength: 75).map { String($0) }.joined(separator: ", ") + "]" }
        #expect(result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) == expected + [""])
    }

    @Test func tokenizeReportsInvalidUTF8WithoutOutput() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = try writeFile(Array("{\"text\": \"fine\"}\n{\"text\": \"caf".utf8) + [0xC3, 0x28] + Array("\"}\n".utf8), in: directory)
        let result = try run(["tokenize", "--model", TokenizerTestSupport.tokenizerDirectory.path, "--input", input.path])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("error: "))
        #expect(result.stderr.contains("\(input.path):2: invalid UTF-8"), "stderr: \(result.stderr)")
    }

    @Test func tokenizeReportsMissingField() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = try writeFile(Array("{\"text\": \"fine\"}\n{\"txt\": \"typo\"}\n".utf8), in: directory)
        let result = try run(["tokenize", "--model", TokenizerTestSupport.tokenizerDirectory.path, "--input", input.path])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("\(input.path):2: missing field 'text'"), "stderr: \(result.stderr)")
    }

    @Test func tokenizeRejectsTooSmallMaxLength() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = try writeFile(Array("{\"text\": \"fine\"}\n".utf8), in: directory)
        let result = try run([
            "tokenize", "--model", TokenizerTestSupport.tokenizerDirectory.path, "--input", input.path, "--max-length", "1",
        ])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("--max-length must be at least 2"), "stderr: \(result.stderr)")
    }
}
