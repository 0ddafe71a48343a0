/// The CLIP word splitter: the `Split` pre-tokenizer with the regular expression
/// `'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+` (behavior `Removed`,
/// `invert: true`), optionally preceded by the alternatives `<\|startoftext\|>|<\|endoftext\|>`,
/// followed by the `ByteLevel` pre-tokenizer.
///
/// The scanner walks Unicode scalars instead of running a regular expression engine. At
/// each position it takes the first alternative that matches, as a backtracking engine
/// does, and drops whitespace, which no alternative matches.
///
/// `ByteLevel` with `use_regex: true` splits again with GPT-2's expression. That leaves every
/// word of the CLIP expression whole except the two literal special-token alternatives,
/// which it cuts into `<|`, the letters and `|>`.
struct CLIPPreTokenizer: Sendable {
    static let pattern = #"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#
    static let specialLiterals = ["<|startoftext|>", "<|endoftext|>"]
    static let patternWithSpecialLiterals = #"<\|startoftext\|>|<\|endoftext\|>|"# + pattern

    /// Whether the expression starts with the two special-token literals.
    let matchesSpecialLiterals: Bool
    /// Whether `ByteLevel` splits again with GPT-2's expression (`use_regex`).
    let byteLevelSplits: Bool

    private let flags = CLIPUnicodeData.shared.flags
    private let literals: [[UInt32]] = specialLiterals.map { $0.unicodeScalars.map(\.value) }

    init(matchesSpecialLiterals: Bool, byteLevelSplits: Bool) {
        self.matchesSpecialLiterals = matchesSpecialLiterals
        self.byteLevelSplits = byteLevelSplits
    }

    /// Calls `body` with the index range of every word of `scalars`, in order.
    func forEachWord(in scalars: ArraySlice<UInt32>, _ body: (Range<Int>) -> Void) {
        let count = scalars.endIndex
        var index = scalars.startIndex
        while index < count {
            let scalar = scalars[index]
            let scalarFlags = flags[Int(scalar)]
            if scalarFlags & CLIPUnicodeData.whitespace != 0 {
                index += 1
                continue
            }
            if matchesSpecialLiterals && scalar == 0x3C, let length = literalLength(in: scalars, at: index) {
                let end = index + length
                if byteLevelSplits {
                    splitWithoutLiterals(scalars, from: index, to: end, body)
                } else {
                    body(index..<end)
                }
                index = end
                continue
            }
            let end = wordEnd(in: scalars, from: index, to: count)
            body(index..<end)
            index = end
        }
    }

    /// Returns the end of the word that starts at the non-whitespace scalar at `start`.
    private func wordEnd(in scalars: ArraySlice<UInt32>, from start: Int, to limit: Int) -> Int {
        let scalar = scalars[start]
        if scalar == 0x27, start + 1 < limit {
            let next = scalars[start + 1]
            // 's 't 'm 'd
            if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {
                return start + 2
            }
            if start + 2 < limit {
                let third = scalars[start + 2]
                // 're 've 'll
                if (next == 0x72 || next == 0x76) && third == 0x65 || next == 0x6C && third == 0x6C {
                    return start + 3
                }
            }
        }
        let scalarFlags = flags[Int(scalar)]
        if scalarFlags & CLIPUnicodeData.letter != 0 {
            var end = start + 1
            while end < limit && flags[Int(scalars[end])] & CLIPUnicodeData.letter != 0 {
                end += 1
            }
            return end
        }
        if scalarFlags & CLIPUnicodeData.number != 0 {
            return start + 1
        }
        let wordClasses = CLIPUnicodeData.whitespace | CLIPUnicodeData.letter | CLIPUnicodeData.number
        var end = start + 1
        while end < limit && flags[Int(scalars[end])] & wordClasses == 0 {
            end += 1
        }
        return end
    }

    /// Splits `scalars[start..<end]` (a matched literal) with the alternatives other than the literals.
    private func splitWithoutLiterals(_ scalars: ArraySlice<UInt32>, from start: Int, to end: Int, _ body: (Range<Int>) -> Void) {
        var index = start
        while index < end {
            let wordEnd = wordEnd(in: scalars, from: index, to: end)
            body(index..<wordEnd)
            index = wordEnd
        }
    }

    private func literalLength(in scalars: ArraySlice<UInt32>, at index: Int) -> Int? {
        for literal in literals where index + literal.count <= scalars.endIndex {
            if scalars[index..<(index + literal.count)].elementsEqual(literal) {
                return literal.count
            }
        }
        return nil
    }
}
