import Foundation

/// A token matched in the text before the pre-tokenizer runs (`added_tokens` in tokenizer.json).
struct AddedToken: Sendable, Equatable {
    let content: [UInt32]
    let id: Int32
    /// Matched in the normalized text when true, in the original text when false.
    let normalized: Bool
}

/// Everything the tokenizer needs, read from a tokenizer directory.
struct TokenizerSpecification: Sendable {
    let normalizer: CLIPNormalizer
    let preTokenizer: CLIPPreTokenizer
    let model: BPEModel
    let addedTokens: [AddedToken]
    /// Ids the post-processor puts before and after the text's ids.
    let prefixIds: [Int32]
    let suffixIds: [Int32]
}

/// Reads tokenizer.json, or vocab.json and merges.txt with tokenizer_config.json and
/// special_tokens_map.json, into a `TokenizerSpecification`.
enum TokenizerFiles {
    static func load(directory: URL) throws(TokenizerError) -> TokenizerSpecification {
        let fileManager = FileManager.default
        let tokenizerJSON = directory.appendingPathComponent("tokenizer.json")
        if fileManager.fileExists(atPath: tokenizerJSON.path) {
            return try TokenizerJSONReader(url: tokenizerJSON).read()
        }
        let vocabulary = directory.appendingPathComponent("vocab.json")
        let merges = directory.appendingPathComponent("merges.txt")
        guard fileManager.fileExists(atPath: vocabulary.path), fileManager.fileExists(atPath: merges.path) else {
            throw .missingFiles(directory: directory.path)
        }
        return try VocabularyFilesReader(directory: directory).read()
    }

    static func readData(_ url: URL) throws(TokenizerError) -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw .unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    static func readJSONObject(_ url: URL) throws(TokenizerError) -> [String: Any] {
        let data = try readData(url)
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw .invalidFile(path: url.path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let object = value as? [String: Any] else {
            throw .invalidFile(path: url.path, reason: "the top level is not a JSON object")
        }
        return object
    }

    /// Builds the merge table, checking that every part and every merged token is in the vocabulary.
    static func mergeTable(
        _ pairs: [(String, String)], vocabulary: [String: Int32], path: String, key: String
    ) throws(TokenizerError) -> [UInt64: UInt64] {
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(pairs.count)
        for (rank, (left, right)) in pairs.enumerated() {
            guard let leftId = vocabulary[left], let rightId = vocabulary[right] else {
                throw .invalidValue(path: path, key: key, reason: "merge \(rank) '\(left) \(right)' has a part that is not in the vocabulary")
            }
            guard let mergedId = vocabulary[left + right] else {
                throw .invalidValue(path: path, key: key, reason: "merge \(rank) '\(left) \(right)' makes '\(left + right)', which is not in the vocabulary")
            }
            let pairKey = UInt64(UInt32(bitPattern: leftId)) << 32 | UInt64(UInt32(bitPattern: rightId))
            // A repeated pair takes its last rank, as in tokenizers 0.20.3 (checked by hand).
            table[pairKey] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: mergedId))
        }
        return table
    }

    /// Splits a merge written as "left right".
    static func splitMerge(_ line: Substring) -> (String, String)? {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// Builds the model, rejecting a vocabulary that cannot encode every byte.
    static func makeModel(
        vocabulary: [String: Int32], merges: [UInt64: UInt64], endOfWordSuffix: String,
        unknownToken: String?, fusesUnknown: Bool, ignoresMerges: Bool, path: String
    ) throws(TokenizerError) -> BPEModel {
        var unknownId: Int32?
        if let unknownToken {
            guard let id = vocabulary[unknownToken] else {
                throw .invalidValue(path: path, key: "unk_token", reason: "'\(unknownToken)' is not in the vocabulary")
            }
            unknownId = id
        }
        let model = BPEModel(
            vocabulary: vocabulary, merges: merges, endOfWordSuffix: endOfWordSuffix,
            unknownId: unknownId, fusesUnknown: fusesUnknown, ignoresMerges: ignoresMerges
        )
        if unknownId == nil {
            for byte in 0..<256 where model.byteSymbols[byte] == nil || model.finalByteSymbols[byte] == nil {
                let symbol = String(ByteLevel.characters[byte])
                throw .invalidValue(
                    path: path, key: "vocab",
                    reason: "the byte-level symbol '\(symbol)' (byte \(byte)), alone or with '\(endOfWordSuffix)', "
                        + "is missing and there is no unk_token to stand for it"
                )
            }
        }
        return model
    }
}

/// The CLIP pipeline that transformers' converter builds, used when only vocab.json and merges.txt exist.
private struct VocabularyFilesReader {
    let directory: URL

    func read() throws(TokenizerError) -> TokenizerSpecification {
        let vocabularyURL = directory.appendingPathComponent("vocab.json")
        let mergesURL = directory.appendingPathComponent("merges.txt")
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let specialMapURL = directory.appendingPathComponent("special_tokens_map.json")

        let vocabulary = try readVocabulary(vocabularyURL)
        let mergePairs = try readMerges(mergesURL)
        let merges = try TokenizerFiles.mergeTable(mergePairs, vocabulary: vocabulary, path: mergesURL.path, key: "merges")

        let fileManager = FileManager.default
        let config = fileManager.fileExists(atPath: configURL.path) ? try TokenizerFiles.readJSONObject(configURL) : [:]
        let specialMap = fileManager.fileExists(atPath: specialMapURL.path) ? try TokenizerFiles.readJSONObject(specialMapURL) : [:]

        if let tokenizerClass = config["tokenizer_class"] {
            guard let name = tokenizerClass as? String, name == "CLIPTokenizer" || name == "CLIPTokenizerFast" else {
                throw .unsupportedComponent(
                    path: configURL.path, component: "tokenizer_class", found: "\(tokenizerClass)",
                    supported: "CLIPTokenizer and CLIPTokenizerFast when there is no tokenizer.json"
                )
            }
        }

        // Special tokens: special_tokens_map.json overrides tokenizer_config.json, as in transformers.
        func specialToken(_ key: String, default defaultContent: String) throws(TokenizerError) -> (String, Bool) {
            let url = specialMap[key] != nil ? specialMapURL : configURL
            guard let value = specialMap[key] ?? config[key] else { return (defaultContent, true) }
            if let content = value as? String {
                return (content, true)
            }
            if let object = value as? [String: Any], let content = object["content"] as? String {
                return (content, (object["normalized"] as? Bool) ?? true)
            }
            throw .invalidValue(path: url.path, key: key, reason: "expected a string or an object with a 'content' string")
        }
        let (bos, bosNormalized) = try specialToken("bos_token", default: "<|startoftext|>")
        let (eos, eosNormalized) = try specialToken("eos_token", default: "<|endoftext|>")
        let (unknown, unknownNormalized) = try specialToken("unk_token", default: "<|endoftext|>")

        var addedTokens: [AddedToken] = []
        func addToken(_ content: String, normalized: Bool, key: String, path: String) throws(TokenizerError) {
            guard !content.isEmpty else {
                throw .invalidValue(path: path, key: key, reason: "an added token cannot be empty")
            }
            guard let id = vocabulary[content] else {
                throw .invalidValue(path: path, key: key, reason: "'\(content)' is not in vocab.json")
            }
            if !addedTokens.contains(where: { $0.id == id }) {
                addedTokens.append(AddedToken(content: content.unicodeScalars.map(\.value), id: id, normalized: normalized))
            }
        }
        if let decoder = config["added_tokens_decoder"] as? [String: Any] {
            for (idText, entry) in decoder.sorted(by: { $0.key < $1.key }) {
                guard let object = entry as? [String: Any], let content = object["content"] as? String else {
                    throw .invalidValue(path: configURL.path, key: "added_tokens_decoder.\(idText)", reason: "expected an object with a 'content' string")
                }
                try rejectTokenOptions(object, path: configURL.path, key: "added_tokens_decoder.\(idText)")
                try addToken(content, normalized: (object["normalized"] as? Bool) ?? true, key: "added_tokens_decoder.\(idText)", path: configURL.path)
            }
        }
        try addToken(bos, normalized: bosNormalized, key: "bos_token", path: configURL.path)
        try addToken(eos, normalized: eosNormalized, key: "eos_token", path: configURL.path)
        try addToken(unknown, normalized: unknownNormalized, key: "unk_token", path: configURL.path)

        let model = try TokenizerFiles.makeModel(
            vocabulary: vocabulary, merges: merges, endOfWordSuffix: "</w>", unknownToken: unknown,
            fusesUnknown: false, ignoresMerges: false, path: configURL.path
        )
        return TokenizerSpecification(
            normalizer: CLIPNormalizer(steps: [.nfc, .replaceWhitespace(replacement: [0x20]), .lowercase]),
            preTokenizer: CLIPPreTokenizer(matchesSpecialLiterals: false, byteLevelSplits: true),
            model: model,
            addedTokens: addedTokens,
            prefixIds: [vocabulary[bos] ?? 0],
            suffixIds: [vocabulary[eos] ?? 0]
        )
    }

    private func rejectTokenOptions(_ object: [String: Any], path: String, key: String) throws(TokenizerError) {
        for option in ["single_word", "lstrip", "rstrip"] where (object[option] as? Bool) == true {
            throw .unsupportedComponent(path: path, component: "added token option '\(option)'", found: "true at \(key)", supported: "false")
        }
    }

    private func readVocabulary(_ url: URL) throws(TokenizerError) -> [String: Int32] {
        let object = try TokenizerFiles.readJSONObject(url)
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(object.count)
        for (token, value) in object {
            guard let id = value as? Int, id >= 0, id <= Int(Int32.max) else {
                throw .invalidValue(path: url.path, key: token, reason: "expected a non-negative integer id, got \(value)")
            }
            vocabulary[token] = Int32(id)
        }
        return vocabulary
    }

    private func readMerges(_ url: URL) throws(TokenizerError) -> [(String, String)] {
        let data = try TokenizerFiles.readData(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw .invalidFile(path: url.path, reason: "not valid UTF-8")
        }
        var pairs: [(String, String)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.isEmpty || (index == 0 && trimmed.hasPrefix("#version")) {
                continue
            }
            guard let pair = TokenizerFiles.splitMerge(trimmed) else {
                throw .invalidFile(path: url.path, reason: "line \(index + 1) is not two tokens separated by one space: '\(trimmed)'")
            }
            pairs.append(pair)
        }
        return pairs
    }
}
