import Synchronization

/// A byte-level BPE model with an end-of-word suffix, as `{"type": "BPE"}` in tokenizer.json
/// with `end_of_word_suffix: "</w>"`, no dropout and no byte fallback.
///
/// A word starts as one symbol per UTF-8 byte, the last one carrying the suffix. Then the
/// adjacent pair with the lowest merge rank is merged, the leftmost one on ties, until no
/// pair has a rank. The golden corpus checks that this gives the ids of tokenizers 0.20.3.
struct BPEModel: Sendable {
    /// Token string -> id.
    let vocabulary: [String: Int32]
    /// `left << 32 | right` -> `rank << 32 | merged id`.
    let merges: [UInt64: UInt64]
    /// Id of the symbol of each byte inside a word, or nil when the vocabulary lacks it.
    let byteSymbols: [Int32?]
    /// Id of the symbol of each byte at the end of a word, with the suffix.
    let finalByteSymbols: [Int32?]
    let unknownId: Int32?
    let fusesUnknown: Bool
    /// When set, a word found whole in the vocabulary skips the merges (`ignore_merges`).
    let ignoresMerges: Bool
    let cache = BPECache()

    init(
        vocabulary: [String: Int32], merges: [UInt64: UInt64], endOfWordSuffix: String,
        unknownId: Int32?, fusesUnknown: Bool, ignoresMerges: Bool
    ) {
        self.vocabulary = vocabulary
        self.merges = merges
        self.byteSymbols = ByteLevel.characters.map { vocabulary[String($0)] }
        self.finalByteSymbols = ByteLevel.characters.map { vocabulary[String($0) + endOfWordSuffix] }
        self.unknownId = unknownId
        self.fusesUnknown = fusesUnknown
        self.ignoresMerges = ignoresMerges
    }

    /// Appends the token ids of the word whose UTF-8 bytes are `bytes` (not empty) to `output`.
    func tokenize(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let key = String(decoding: bytes, as: UTF8.self)
        if let cached = cache.lookup(key) {
            output.append(contentsOf: cached)
            return
        }
        let ids = merge(bytes)
        cache.store(key, ids)
        output.append(contentsOf: ids)
    }

    private func merge(_ bytes: UnsafeBufferPointer<UInt8>) -> [Int32] {
        if ignoresMerges, let id = vocabulary[ByteLevel.encode(bytes)] {
            return [id]
        }

        var symbols: [Int32] = []
        symbols.reserveCapacity(bytes.count)
        var previousWasUnknown = false
        for (position, byte) in bytes.enumerated() {
            let isLast = position == bytes.count - 1
            if let id = isLast ? finalByteSymbols[Int(byte)] : byteSymbols[Int(byte)] {
                symbols.append(id)
                previousWasUnknown = false
            } else if let unknownId {
                // The loader rejects a vocabulary that lacks a byte symbol and has no unknown token.
                if !(fusesUnknown && previousWasUnknown) {
                    symbols.append(unknownId)
                }
                previousWasUnknown = true
            }
        }
        guard symbols.count > 1 else { return symbols }

        // pairs[i] describes symbols[i], symbols[i + 1]; UInt64.max means no merge.
        var pairs = [UInt64](repeating: .max, count: symbols.count - 1)
        for index in pairs.indices {
            pairs[index] = pairMerge(symbols[index], symbols[index + 1])
        }
        while !pairs.isEmpty {
            var best = 0
            for index in 1..<pairs.count where pairs[index] >> 32 < pairs[best] >> 32 {
                best = index
            }
            guard pairs[best] != .max else { break }

            symbols[best] = Int32(truncatingIfNeeded: pairs[best] & 0xFFFF_FFFF)
            symbols.remove(at: best + 1)
            pairs.remove(at: best)
            if best > 0 {
                pairs[best - 1] = pairMerge(symbols[best - 1], symbols[best])
            }
            if best < pairs.count {
                pairs[best] = pairMerge(symbols[best], symbols[best + 1])
            }
        }
        return symbols
    }

    private func pairMerge(_ left: Int32, _ right: Int32) -> UInt64 {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        return merges[key] ?? .max
    }
}

/// Token ids of words already merged, shared by all threads that use one tokenizer.
///
/// The entries are spread over `shardCount` locks by a cheap function of the word's bytes,
/// so that threads of a batch rarely wait for each other. Each shard stops taking new words
/// once full, which bounds memory on endless streams of new words.
final class BPECache: Sendable {
    static let shardCount = 64
    static let capacityPerShard = 2_000
    private let shards: [Shard] = (0..<shardCount).map { _ in Shard() }

    private final class Shard: Sendable {
        let entries = Mutex<[String: [Int32]]>([:])
    }

    func lookup(_ word: String) -> [Int32]? {
        shards[Self.shard(of: word)].entries.withLock { $0[word] }
    }

    func store(_ word: String, _ ids: [Int32]) {
        shards[Self.shard(of: word)].entries.withLock { entries in
            if entries.count < Self.capacityPerShard {
                entries[word] = ids
            }
        }
    }

    private static func shard(of word: String) -> Int {
        var hash = word.utf8.count
        for byte in word.utf8.prefix(4) {
            hash = hash &* 31 &+ Int(byte)
        }
        return hash & (shardCount - 1)
    }
}
