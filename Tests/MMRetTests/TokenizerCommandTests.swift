import Foundation
import Testing
@testable import MMRet

/// JSON Lines reading and the `mmret tokenize` command, run as a subprocess.
struct TokenizerCommandTests {
    /// The `mmret` binary that `swift build --build-tests` puts next to the test bundle.
    static let binary: URL? = {
        var directory = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("mmret")
            if FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }()

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    private func run(_ arguments: [String]) throws -> Run {
        let binary = try #require(Self.binary, "mmret binary not found next to \(Bundle.main.bundleURL.path); build it first")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus,
            stdout: String(decoding: output, as: UTF8.self),
            stderr: String(decoding: errors, as: UTF8.self)
        )
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
