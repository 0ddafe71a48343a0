import Dispatch
import Foundation

/// The CLIP byte-level BPE tokenizer, returning the same ids as transformers 4.45.2
/// `CLIPTokenizerFast` (tokenizers 0.20.3) with `truncation=True` and no padding.
///
/// Encoding runs these stages, as the Rust library does:
/// 1. Added tokens (`<|startoftext|>`, `<|endoftext|>`) are cut out of the text. Tokens marked
///    `normalized` (both, in the CLIP files) are matched after normalization, so
///    `<|ENDOFTEXT|>` matches too.
/// 2. The normalizer: NFC, every run of whitespace to one space, lowercase.
/// 3. The pre-tokenizer splits words with the CLIP expression and drops whitespace.
/// 4. Each word's UTF-8 bytes go through byte-level BPE with `</w>` on the last symbol.
/// 5. The post-processor puts `<|startoftext|>` (49406) before and `<|endoftext|>` (49407)
///    after the ids, which are truncated so that the result has at most `maxLength` ids.
///
/// The value is immutable apart from a shared cache of merged words, so one tokenizer can
/// serve many threads.
public struct CLIPTokenizer: Sendable {
    /// The context length of CLIP text encoders.
    public static let defaultMaxLength = 77

    private let specification: TokenizerSpecification
    private let normalizedTokens: [AddedToken]
    private let originalTokens: [AddedToken]

    /// Loads `tokenizer.json` from `directory`, or, when it is missing, `vocab.json` and
    /// `merges.txt` with the optional `tokenizer_config.json` and `special_tokens_map.json`.
    ///
    /// - Throws: `TokenizerError` when the files are missing or invalid, or describe a
    ///   component other than the CLIP pipeline above.
    public init(directory: URL) throws(TokenizerError) {
        let specification = try TokenizerFiles.load(directory: directory)
        self.specification = specification
        self.normalizedTokens = specification.addedTokens.filter(\.normalized)
        self.originalTokens = specification.addedTokens.filter { !$0.normalized }
    }

    /// The number of ids the post-processor adds around the text's ids (2 for CLIP).
    public var specialTokenCount: Int {
        specification.prefixIds.count + specification.suffixIds.count
    }

    /// The number of entries in the vocabulary.
    public var vocabularySize: Int {
        specification.model.vocabulary.count
    }

    /// Returns the ids of `text`, at most `maxLength` of them, special tokens included.
    ///
    /// An empty text gives `[49406, 49407]`. No padding is added.
    /// - Precondition: `maxLength >= specialTokenCount`.
    public func encode(_ text: String, maxLength: Int = CLIPTokenizer.defaultMaxLength) -> [Int32] {
        precondition(maxLength >= specialTokenCount, "maxLength \(maxLength) leaves no room for the \(specialTokenCount) special tokens")
        let limit = maxLength - specialTokenCount
        var ids: [Int32] = specification.prefixIds
        ids.reserveCapacity(min(maxLength, 32))
        var scratch = EncodingScratch()
        appendTextIds(text, limit: limit, into: &ids, scratch: &scratch)
        ids.append(contentsOf: specification.suffixIds)
        return ids
    }

    /// Encodes `texts` on up to `threadCount` threads.
    ///
    /// - Returns: the ids of each text, as `encode` returns them, and their counts, in input order.
    /// - Precondition: `maxLength >= specialTokenCount`.
    public func encodeBatch(
        _ texts: [String], maxLength: Int = CLIPTokenizer.defaultMaxLength,
        threadCount: Int = ProcessInfo.processInfo.activeProcessorCount
    ) -> (ids: [[Int32]], lengths: [Int]) {
        let workers = max(1, min(threadCount, texts.count / 64 + 1))
        var results = [[Int32]](repeating: [], count: texts.count)
        if workers == 1 {
            for index in texts.indices {
                results[index] = encode(texts[index], maxLength: maxLength)
            }
        } else {
            results.withUnsafeMutableBufferPointer { buffer in
                // Each worker writes a disjoint range of indices.
                nonisolated(unsafe) let output = buffer
                let chunk = (texts.count + workers - 1) / workers
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    let start = worker * chunk
                    let end = min(texts.count, start + chunk)
                    guard start < end else { return }
                    for index in start..<end {
                        output[index] = encode(texts[index], maxLength: maxLength)
                    }
                }
            }
        }
        return (results, results.map(\.count))
    }

    // MARK: Pipeline

    /// Buffers reused across the words of one text.
    private struct EncodingScratch {
        var scalars: [UInt32] = []
        var bytes: [UInt8] = []
    }

    private func appendTextIds(_ text: String, limit: Int, into ids: inout [Int32], scratch: inout EncodingScratch) {
        guard limit > 0 else { return }
        let scalars = text.unicodeScalars.map(\.value)
        let end = ids.count + limit
        if originalTokens.isEmpty {
            appendNormalizedIds(scalars[...], end: end, into: &ids, scratch: &scratch)
        } else {
            forEachAddedTokenSplit(scalars[...], tokens: originalTokens) { piece, tokenId in
                if let tokenId {
                    ids.append(tokenId)
                } else {
                    appendNormalizedIds(piece, end: end, into: &ids, scratch: &scratch)
                }
                return ids.count < end
            }
        }
        if ids.count > end {
            ids.removeLast(ids.count - end)
        }
    }

    /// Normalizes `piece`, cuts out the normalized added tokens and tokenizes the rest.
    private func appendNormalizedIds(_ piece: ArraySlice<UInt32>, end: Int, into ids: inout [Int32], scratch: inout EncodingScratch) {
        guard ids.count < end, !piece.isEmpty else { return }
        scratch.scalars.removeAll(keepingCapacity: true)
        scratch.scalars.append(contentsOf: piece)
        specification.normalizer.normalize(&scratch.scalars)
        let normalized = scratch.scalars
        forEachAddedTokenSplit(normalized[...], tokens: normalizedTokens) { part, tokenId in
            if let tokenId {
                ids.append(tokenId)
            } else {
                appendWordIds(part, end: end, into: &ids, bytes: &scratch.bytes)
            }
            return ids.count < end
        }
    }

    private func appendWordIds(_ scalars: ArraySlice<UInt32>, end: Int, into ids: inout [Int32], bytes: inout [UInt8]) {
        specification.preTokenizer.forEachWord(in: scalars) { range in
            guard ids.count < end else { return }
            bytes.removeAll(keepingCapacity: true)
            for index in range {
                appendUTF8(scalars[index], to: &bytes)
            }
            bytes.withUnsafeBufferPointer { buffer in
                specification.model.tokenize(buffer, into: &ids)
            }
        }
    }

    private func appendUTF8(_ scalar: UInt32, to bytes: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            bytes.append(UInt8(scalar))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | scalar >> 6))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | scalar >> 12))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | scalar >> 18))
            bytes.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Calls `body` with the pieces of `scalars` between added tokens (token id nil) and with
    /// each added token (its id), in order, until `body` returns false.
    ///
    /// Matches are leftmost-longest: the earliest start wins, then the longest token there.
    private func forEachAddedTokenSplit(
        _ scalars: ArraySlice<UInt32>, tokens: [AddedToken], _ body: (ArraySlice<UInt32>, Int32?) -> Bool
    ) {
        guard !tokens.isEmpty else {
            _ = body(scalars, nil)
            return
        }
        var pieceStart = scalars.startIndex
        var index = scalars.startIndex
        while index < scalars.endIndex {
            var best: AddedToken?
            for token in tokens where token.content.count <= scalars.endIndex - index && token.content[0] == scalars[index] {
                if scalars[index..<(index + token.content.count)].elementsEqual(token.content),
                    token.content.count > (best?.content.count ?? 0)
                {
                    best = token
                }
            }
            guard let best else {
                index += 1
                continue
            }
            if pieceStart < index, !body(scalars[pieceStart..<index], nil) {
                return
            }
            if !body(scalars[index..<index], best.id) {
                return
            }
            index += best.content.count
            pieceStart = index
        }
        if pieceStart < scalars.endIndex {
            _ = body(scalars[pieceStart..<scalars.endIndex], nil)
        }
    }
}
