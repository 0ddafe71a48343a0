import Foundation

/// Reads a Hugging Face tokenizer.json and checks that each component is one this package implements.
///
/// The `truncation` and `padding` sections are ignored: transformers replaces them on every
/// call, and `CLIPTokenizer.encode` takes the maximum length as an argument. `decoder` is
/// ignored because this package only encodes.
struct TokenizerJSONReader {
    let url: URL
    private var path: String { url.path }

    init(url: URL) {
        self.url = url
    }

    func read() throws(TokenizerError) -> TokenizerSpecification {
        let root = try TokenizerFiles.readJSONObject(url)

        let normalizer = CLIPNormalizer(steps: try normalizerSteps(root["normalizer"], key: "normalizer"))
        let preTokenizer = try readPreTokenizer(root["pre_tokenizer"])
        let model = try readModel(root["model"])
        let addedTokens = try readAddedTokens(root["added_tokens"])
        let (prefixIds, suffixIds) = try readPostProcessor(root["post_processor"])
        return TokenizerSpecification(
            normalizer: normalizer, preTokenizer: preTokenizer, model: model,
            addedTokens: addedTokens, prefixIds: prefixIds, suffixIds: suffixIds
        )
    }

    // MARK: Normalizer

    private static let supportedNormalizers =
        #"NFC, Lowercase, Replace of the regular expression "\s+", and a Sequence of these"#

    private func normalizerSteps(_ value: Any?, key: String) throws(TokenizerError) -> [NormalizerStep] {
        guard let value, !(value is NSNull) else { return [] }
        let component = key == "normalizer" ? key : "normalizer at \(key)"
        let object = try self.object(value, key: key)
        let type = try string(object, "type", in: key)
        switch type {
        case "Sequence":
            let items = try array(object, "normalizers", in: key)
            var steps: [NormalizerStep] = []
            for (index, item) in items.enumerated() {
                steps += try normalizerSteps(item, key: "\(key).normalizers[\(index)]")
            }
            return steps
        case "NFC":
            return [.nfc]
        case "Lowercase":
            return [.lowercase]
        case "Replace":
            let pattern = try self.object(object["pattern"] as Any, key: "\(key).pattern")
            let content = try string(object, "content", in: key)
            guard pattern.count == 1, let regex = pattern["Regex"] as? String, regex == #"\s+"# else {
                throw .unsupportedComponent(
                    path: path, component: component, found: "Replace with pattern \(describe(pattern))",
                    supported: Self.supportedNormalizers
                )
            }
            return [.replaceWhitespace(replacement: content.unicodeScalars.map(\.value))]
        default:
            throw .unsupportedComponent(
                path: path, component: component, found: "'\(type)'", supported: Self.supportedNormalizers
            )
        }
    }

    // MARK: Pre-tokenizer

    private static let supportedPreTokenizer =
        "a Sequence of Split (the CLIP regular expression, behavior Removed, invert true) "
        + "and ByteLevel (add_prefix_space false)"

    private func readPreTokenizer(_ value: Any?) throws(TokenizerError) -> CLIPPreTokenizer {
        let key = "pre_tokenizer"
        func unsupported(_ found: String) -> TokenizerError {
            .unsupportedComponent(path: path, component: "pre_tokenizer", found: found, supported: Self.supportedPreTokenizer)
        }
        guard let value, !(value is NSNull) else { throw unsupported("none") }
        let object = try self.object(value, key: key)
        let type = try string(object, "type", in: key)
        guard type == "Sequence" else { throw unsupported("'\(type)'") }
        let items = try array(object, "pretokenizers", in: key)
        guard items.count == 2 else { throw unsupported("a Sequence of \(items.count) pre-tokenizers") }

        let split = try self.object(items[0], key: "\(key).pretokenizers[0]")
        let splitType = try string(split, "type", in: "\(key).pretokenizers[0]")
        guard splitType == "Split" else { throw unsupported("'\(splitType)' first") }
        let pattern = try self.object(split["pattern"] as Any, key: "\(key).pretokenizers[0].pattern")
        let regex = pattern["Regex"] as? String
        let matchesSpecialLiterals: Bool
        switch regex {
        case CLIPPreTokenizer.pattern?:
            matchesSpecialLiterals = false
        case CLIPPreTokenizer.patternWithSpecialLiterals?:
            matchesSpecialLiterals = true
        default:
            throw unsupported("Split with pattern \(describe(pattern))")
        }
        let behavior = split["behavior"] as? String
        let invert = split["invert"] as? Bool
        guard behavior == "Removed", invert == true else {
            throw unsupported("Split with behavior \(behavior ?? "none") and invert \(invert.map(String.init) ?? "none")")
        }

        let byteLevel = try self.object(items[1], key: "\(key).pretokenizers[1]")
        let byteLevelType = try string(byteLevel, "type", in: "\(key).pretokenizers[1]")
        guard byteLevelType == "ByteLevel" else { throw unsupported("'\(byteLevelType)' second") }
        guard (byteLevel["add_prefix_space"] as? Bool) != true else {
            throw unsupported("ByteLevel with add_prefix_space true")
        }
        let usesRegex = (byteLevel["use_regex"] as? Bool) ?? true
        return CLIPPreTokenizer(matchesSpecialLiterals: matchesSpecialLiterals, byteLevelSplits: usesRegex)
    }

    // MARK: Model

    private func readModel(_ value: Any?) throws(TokenizerError) -> BPEModel {
        let key = "model"
        let object = try self.object(value as Any, key: key)
        let type = (object["type"] as? String) ?? "none"
        guard type == "BPE" else {
            throw .unsupportedComponent(path: path, component: "model", found: "'\(type)'", supported: "BPE")
        }
        if let dropout = object["dropout"], !(dropout is NSNull), (dropout as? Double) != 0 {
            throw .unsupportedComponent(path: path, component: "BPE dropout", found: "\(dropout)", supported: "null")
        }
        if (object["byte_fallback"] as? Bool) == true {
            throw .unsupportedComponent(path: path, component: "BPE byte_fallback", found: "true", supported: "false")
        }
        if let prefix = object["continuing_subword_prefix"] as? String, !prefix.isEmpty {
            throw .unsupportedComponent(
                path: path, component: "BPE continuing_subword_prefix", found: "'\(prefix)'", supported: "an empty string or null"
            )
        }
        let suffix = (object["end_of_word_suffix"] as? String) ?? ""
        let unknownToken = object["unk_token"] as? String
        let fusesUnknown = (object["fuse_unk"] as? Bool) ?? false
        let ignoresMerges = (object["ignore_merges"] as? Bool) ?? false

        let vocabularyObject = try self.object(object["vocab"] as Any, key: "model.vocab")
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(vocabularyObject.count)
        for (token, value) in vocabularyObject {
            guard let id = value as? Int, id >= 0, id <= Int(Int32.max) else {
                throw .invalidValue(path: path, key: "model.vocab", reason: "the id of '\(token)' is \(value), not a non-negative integer")
            }
            vocabulary[token] = Int32(id)
        }

        let mergeItems = try array(object, "merges", in: key)
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(mergeItems.count)
        for (index, item) in mergeItems.enumerated() {
            // Both forms are accepted: [left, right], as tokenizers 0.20.3 writes, and "left right".
            if let line = item as? String, let pair = TokenizerFiles.splitMerge(line[...]) {
                pairs.append(pair)
            } else if let parts = item as? [Any], parts.count == 2, let left = parts[0] as? String, let right = parts[1] as? String {
                pairs.append((left, right))
            } else {
                throw .invalidValue(path: path, key: "model.merges[\(index)]", reason: #"expected "left right" or ["left", "right"], got \#(item)"#)
            }
        }
        let merges = try TokenizerFiles.mergeTable(pairs, vocabulary: vocabulary, path: path, key: "model.merges")
        return try TokenizerFiles.makeModel(
            vocabulary: vocabulary, merges: merges, endOfWordSuffix: suffix, unknownToken: unknownToken,
            fusesUnknown: fusesUnknown, ignoresMerges: ignoresMerges, path: path
        )
    }

    // MARK: Added tokens

    private func readAddedTokens(_ value: Any?) throws(TokenizerError) -> [AddedToken] {
        guard let value, !(value is NSNull) else { return [] }
        guard let items = value as? [Any] else {
            throw .invalidValue(path: path, key: "added_tokens", reason: "expected an array")
        }
        var tokens: [AddedToken] = []
        for (index, item) in items.enumerated() {
            let key = "added_tokens[\(index)]"
            let object = try self.object(item, key: key)
            let content = try string(object, "content", in: key)
            guard let id = object["id"] as? Int, id >= 0, id <= Int(Int32.max) else {
                throw .invalidValue(path: path, key: "\(key).id", reason: "expected a non-negative integer")
            }
            for option in ["single_word", "lstrip", "rstrip"] where (object[option] as? Bool) == true {
                throw .unsupportedComponent(path: path, component: "added token option '\(option)'", found: "true at \(key)", supported: "false")
            }
            guard !content.isEmpty else {
                throw .invalidValue(path: path, key: "\(key).content", reason: "an added token cannot be empty")
            }
            let normalized = (object["normalized"] as? Bool) ?? true
            tokens.append(AddedToken(content: content.unicodeScalars.map(\.value), id: Int32(id), normalized: normalized))
        }
        return tokens
    }

    // MARK: Post-processor

    private static let supportedPostProcessors =
        "RobertaProcessing, BertProcessing, or TemplateProcessing whose single template is special tokens around $A"

    private func readPostProcessor(_ value: Any?) throws(TokenizerError) -> (prefix: [Int32], suffix: [Int32]) {
        let key = "post_processor"
        guard let value, !(value is NSNull) else { return ([], []) }
        let object = try self.object(value, key: key)
        let type = try string(object, "type", in: key)
        switch type {
        case "RobertaProcessing", "BertProcessing":
            let cls = try tokenAndId(object["cls"], key: "\(key).cls")
            let sep = try tokenAndId(object["sep"], key: "\(key).sep")
            return ([cls], [sep])
        case "TemplateProcessing":
            return try readTemplate(object, key: key)
        default:
            throw .unsupportedComponent(path: path, component: "post_processor", found: "'\(type)'", supported: Self.supportedPostProcessors)
        }
    }

    private func tokenAndId(_ value: Any?, key: String) throws(TokenizerError) -> Int32 {
        guard let pair = value as? [Any], pair.count == 2, pair[0] is String, let id = pair[1] as? Int,
            id >= 0, id <= Int(Int32.max)
        else {
            throw .invalidValue(path: path, key: key, reason: "expected [token, id]")
        }
        return Int32(id)
    }

    private func readTemplate(_ object: [String: Any], key: String) throws(TokenizerError) -> ([Int32], [Int32]) {
        let items = try array(object, "single", in: key)
        let specials = try self.object(object["special_tokens"] as Any, key: "\(key).special_tokens")
        var prefix: [Int32] = []
        var suffix: [Int32] = []
        var sawSequence = false
        for (index, item) in items.enumerated() {
            let itemKey = "\(key).single[\(index)]"
            let entry = try self.object(item, key: itemKey)
            if let sequence = entry["Sequence"] as? [String: Any] {
                guard !sawSequence, (sequence["id"] as? String) == "A" else {
                    throw .unsupportedComponent(
                        path: path, component: "post_processor", found: "a template with sequence \(describe(sequence))",
                        supported: Self.supportedPostProcessors
                    )
                }
                sawSequence = true
            } else if let special = entry["SpecialToken"] as? [String: Any], let name = special["id"] as? String {
                guard let definition = specials[name] as? [String: Any], let ids = definition["ids"] as? [Int],
                    ids.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) })
                else {
                    throw .invalidValue(path: path, key: "\(key).special_tokens", reason: "'\(name)' has no valid 'ids' list")
                }
                if sawSequence {
                    suffix += ids.map { Int32($0) }
                } else {
                    prefix += ids.map { Int32($0) }
                }
            } else {
                throw .invalidValue(path: path, key: itemKey, reason: "expected a Sequence or SpecialToken entry")
            }
        }
        guard sawSequence else {
            throw .unsupportedComponent(
                path: path, component: "post_processor", found: "a template without $A", supported: Self.supportedPostProcessors
            )
        }
        return (prefix, suffix)
    }

    // MARK: JSON access

    private func object(_ value: Any, key: String) throws(TokenizerError) -> [String: Any] {
        guard let object = value as? [String: Any] else {
            throw .invalidValue(path: path, key: key, reason: "expected a JSON object")
        }
        return object
    }

    private func string(_ object: [String: Any], _ name: String, in key: String) throws(TokenizerError) -> String {
        guard let value = object[name] as? String else {
            throw .invalidValue(path: path, key: "\(key).\(name)", reason: "expected a string")
        }
        return value
    }

    private func array(_ object: [String: Any], _ name: String, in key: String) throws(TokenizerError) -> [Any] {
        guard let value = object[name] as? [Any] else {
            throw .invalidValue(path: path, key: "\(key).\(name)", reason: "expected an array")
        }
        return value
    }

    private func describe(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]),
            let text = String(data: data, encoding: .utf8)
        else {
            return "\(value)"
        }
        return text
    }
}
