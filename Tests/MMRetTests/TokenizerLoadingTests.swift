import Foundation
import Testing
@testable import MMRet

/// Loading tokenizer files: both file layouts, and the errors for unsupported or invalid files.
struct TokenizerLoadingTests {
    static let fallbackFiles = ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]

    @Test func vocabularyFallbackMatchesReference() throws {
        let directory = try TokenizerTestSupport.copyTokenizerFiles(Self.fallbackFiles)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenizer = try CLIPTokenizer(directory: directory)
        let cases = try TokenizerTestSupport.goldenCases.get()
        for maxLength in [77, 75] {
            let mismatches = TokenizerTestSupport.mismatches(of: tokenizer, cases: cases, maxLength: maxLength) {
                maxLength == 77 ? $0.ids77 : $0.ids75
            }
            for message in mismatches.prefix(10) {
                Issue.record(Comment(rawValue: message))
            }
            #expect(mismatches.count == 0, "\(mismatches.count) of \(cases.count) texts differ at max_length \(maxLength)")
        }
    }

    @Test func vocabularyFallbackWithoutConfigFiles() throws {
        let directory = try TokenizerTestSupport.copyTokenizerFiles(["vocab.json", "merges.txt"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenizer = try CLIPTokenizer(directory: directory)
        #expect(tokenizer.encode("A photo of a CAT<|endoftext|>") == [49406, 320, 1125, 539, 320, 2368, 49407, 49407])
        #expect(tokenizer.vocabularySize == 49408)
    }

    @Test func missingFilesAreReported() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: TokenizerError.missingFiles(directory: directory.path)) {
            try CLIPTokenizer(directory: directory)
        }
    }

    /// Writes the fixture tokenizer.json with `edit` applied into a temporary directory and loads it.
    ///
    /// With `keepVocabulary` false the vocabulary shrinks to the 512 byte symbols, the two
    /// special tokens and no merges, which keeps debug-build loading fast.
    private func loadEdited(
        keepVocabulary: Bool = false, _ edit: (inout [String: Any]) -> Void
    ) throws -> (URL, Result<CLIPTokenizer, TokenizerError>) {
        let data = try Data(contentsOf: TokenizerTestSupport.tokenizerDirectory.appendingPathComponent("tokenizer.json"))
        var root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        if !keepVocabulary {
            var model = try #require(root["model"] as? [String: Any])
            let vocabulary = try #require(model["vocab"] as? [String: Int])
            model["vocab"] = vocabulary.filter { $0.value < 512 || $0.value >= 49406 }
            model["merges"] = [Any]()
            root["model"] = model
        }
        edit(&root)
        let directory = try TokenizerTestSupport.temporaryDirectory()
        let url = directory.appendingPathComponent("tokenizer.json")
        try JSONSerialization.data(withJSONObject: root).write(to: url)
        return (url, Result { () throws(TokenizerError) in try CLIPTokenizer(directory: directory) })
    }

    private func expectUnsupported(
        _ component: String, sourceLocation: SourceLocation = #_sourceLocation, _ edit: (inout [String: Any]) -> Void
    ) throws {
        let (url, result) = try loadEdited(edit)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        guard case .failure(let error) = result else {
            Issue.record("loading succeeded, expected an unsupported \(component)", sourceLocation: sourceLocation)
            return
        }
        guard case .unsupportedComponent(let path, let reported, _, let supported) = error else {
            Issue.record("expected unsupportedComponent, got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(path == url.path, sourceLocation: sourceLocation)
        #expect(reported.hasPrefix(component), "component '\(reported)'", sourceLocation: sourceLocation)
        #expect(!supported.isEmpty, sourceLocation: sourceLocation)
        #expect(error.description.contains("tokenizer.json"), sourceLocation: sourceLocation)
    }

    @Test func unsupportedNormalizerIsRejected() throws {
        try expectUnsupported("normalizer") { root in
            root["normalizer"] = ["type": "Sequence", "normalizers": [["type": "NFKC"], ["type": "Lowercase"]]]
        }
        try expectUnsupported("normalizer") { root in
            root["normalizer"] = ["type": "Replace", "pattern": ["Regex": "\\d+"], "content": "0"]
        }
    }

    @Test func unsupportedPreTokenizerIsRejected() throws {
        try expectUnsupported("pre_tokenizer") { root in
            root["pre_tokenizer"] = ["type": "Whitespace"]
        }
        try expectUnsupported("pre_tokenizer") { root in
            var sequence = root["pre_tokenizer"] as? [String: Any] ?? [:]
            var items = sequence["pretokenizers"] as? [[String: Any]] ?? []
            items[0]["pattern"] = ["Regex": "\\w+"]
            sequence["pretokenizers"] = items
            root["pre_tokenizer"] = sequence
        }
        try expectUnsupported("pre_tokenizer") { root in
            var sequence = root["pre_tokenizer"] as? [String: Any] ?? [:]
            var items = sequence["pretokenizers"] as? [[String: Any]] ?? []
            items[1]["add_prefix_space"] = true
            sequence["pretokenizers"] = items
            root["pre_tokenizer"] = sequence
        }
    }

    @Test func unsupportedModelIsRejected() throws {
        try expectUnsupported("model") { root in
            var model = root["model"] as? [String: Any] ?? [:]
            model["type"] = "WordPiece"
            root["model"] = model
        }
        try expectUnsupported("BPE dropout") { root in
            var model = root["model"] as? [String: Any] ?? [:]
            model["dropout"] = 0.1
            root["model"] = model
        }
    }

    @Test func unsupportedPostProcessorIsRejected() throws {
        try expectUnsupported("post_processor") { root in
            root["post_processor"] = ["type": "ByteLevel", "add_prefix_space": false]
        }
    }

    @Test func unsupportedAddedTokenOptionIsRejected() throws {
        try expectUnsupported("added token option 'lstrip'") { root in
            var tokens = root["added_tokens"] as? [[String: Any]] ?? []
            tokens[0]["lstrip"] = true
            root["added_tokens"] = tokens
        }
    }

    @Test func specialLiteralPatternIsAccepted() throws {
        let (url, result) = try loadEdited(keepVocabulary: true) { root in
            var sequence = root["pre_tokenizer"] as? [String: Any] ?? [:]
            var items = sequence["pretokenizers"] as? [[String: Any]] ?? []
            items[0]["pattern"] = ["Regex": CLIPPreTokenizer.patternWithSpecialLiterals]
            sequence["pretokenizers"] = items
            root["pre_tokenizer"] = sequence
        }
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let tokenizer = try result.get()
        #expect(tokenizer.encode("a photo of a cat") == [49406, 320, 1125, 539, 320, 2368, 49407])
    }

    @Test func unnormalizedAddedTokensMatchOriginalText() throws {
        let (url, result) = try loadEdited(keepVocabulary: true) { root in
            var tokens = root["added_tokens"] as? [[String: Any]] ?? []
            for index in tokens.indices {
                tokens[index]["normalized"] = false
            }
            root["added_tokens"] = tokens
        }
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let tokenizer = try result.get()
        // Ids from tokenizers 0.20.3 with both added tokens set to "normalized": false.
        #expect(tokenizer.encode("<|ENDOFTEXT|>") == [49406, 27, 347, 40786, 4160, 91, 285, 49407])
        #expect(tokenizer.encode("a<|endoftext|>b") == [49406, 320, 49407, 321, 49407])
        #expect(tokenizer.encode("<|startoftext|>X") == [49406, 49406, 343, 49407])
    }

    @Test func mergeWithUnknownPartIsInvalid() throws {
        let (url, result) = try loadEdited { root in
            var model = root["model"] as? [String: Any] ?? [:]
            model["merges"] = [["no-such-token", "n"]]
            root["model"] = model
        }
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        guard case .failure(.invalidValue(let path, let key, _)) = result else {
            Issue.record("expected invalidValue, got \(result)")
            return
        }
        #expect(path == url.path)
        #expect(key == "model.merges")
    }

    @Test func truncatedJSONIsInvalid() throws {
        let directory = try TokenizerTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("tokenizer.json")
        try Data(#"{"model": {"type": "BPE", "vocab": {"#.utf8).write(to: url)
        #expect {
            try CLIPTokenizer(directory: directory)
        } throws: { error in
            guard case TokenizerError.invalidFile(let path, _) = error else { return false }
            return path == url.path
        }
    }

    @Test func malformedMergesLineIsInvalid() throws {
        let directory = try TokenizerTestSupport.copyTokenizerFiles(["vocab.json"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("merges.txt")
        try Data("#version: 0.2\ni n\nt h e\n".utf8).write(to: url)
        #expect {
            try CLIPTokenizer(directory: directory)
        } throws: { error in
            guard case TokenizerError.invalidFile(let path, let reason) = error else { return false }
            return path == url.path && reason.contains("line 3")
        }
    }

    @Test func nonIntegerVocabularyIdIsInvalid() throws {
        let directory = try TokenizerTestSupport.copyTokenizerFiles(["merges.txt"])
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(#"{"a": "zero"}"#.utf8).write(to: directory.appendingPathComponent("vocab.json"))
        #expect {
            try CLIPTokenizer(directory: directory)
        } throws: { error in
            guard case TokenizerError.invalidValue(let path, let key, _) = error else { return false }
            return path.hasSuffix("vocab.json") && key == "a"
        }
    }
}
