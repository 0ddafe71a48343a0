/// Lookup structures built once from `CLIPUnicodeTables`.
///
/// `flags` has one byte per Unicode scalar value (1.1 MB), so that the normalizer and the
/// pre-tokenizer classify a scalar with one array read.
struct CLIPUnicodeData: Sendable {
    static let whitespace: UInt8 = 1
    static let letter: UInt8 = 2
    static let number: UInt8 = 4
    /// The scalar has a lowercase mapping other than itself.
    static let hasLowercase: UInt8 = 8
    /// The scalar can change under NFC: it decomposes, has a non-zero combining class, or
    /// composes with a preceding scalar. A text without such scalars is already in NFC.
    static let affectsNFC: UInt8 = 16

    static let shared = CLIPUnicodeData()

    let flags: [UInt8]
    let lowercase: [UInt32: UInt32]
    let lowercaseExpansions: [UInt32: [UInt32]]
    /// Scalar -> `offset << 8 | count` into `decompositionPool`.
    let decompositions: [UInt32: UInt32]
    let decompositionPool: [UInt32]
    let combiningClasses: [UInt32: UInt8]
    /// `first << 32 | second` -> primary composite.
    let compositions: [UInt64: UInt32]

    private init() {
        var flags = [UInt8](repeating: 0, count: 0x110000)
        func mark(_ ranges: [UInt32], _ flag: UInt8) {
            for index in stride(from: 0, to: ranges.count, by: 2) {
                for scalar in ranges[index]...ranges[index + 1] {
                    flags[Int(scalar)] |= flag
                }
            }
        }
        mark(CLIPUnicodeTables.whitespaceRanges, Self.whitespace)
        mark(CLIPUnicodeTables.letterRanges, Self.letter)
        mark(CLIPUnicodeTables.numberRanges, Self.number)

        var lowercase: [UInt32: UInt32] = [:]
        let pairs = CLIPUnicodeTables.lowercasePairs
        for index in stride(from: 0, to: pairs.count, by: 2) {
            lowercase[pairs[index]] = pairs[index + 1]
            flags[Int(pairs[index])] |= Self.hasLowercase
        }
        for scalar in CLIPUnicodeTables.lowercaseExpansions.keys {
            flags[Int(scalar)] |= Self.hasLowercase
        }

        var decompositions: [UInt32: UInt32] = [:]
        let index = CLIPUnicodeTables.decompositionIndex
        for position in stride(from: 0, to: index.count, by: 2) {
            decompositions[index[position]] = index[position + 1]
            flags[Int(index[position])] |= Self.affectsNFC
        }
        var combiningClasses: [UInt32: UInt8] = [:]
        let classPairs = CLIPUnicodeTables.combiningClassPairs
        for position in stride(from: 0, to: classPairs.count, by: 2) {
            combiningClasses[classPairs[position]] = UInt8(classPairs[position + 1])
            flags[Int(classPairs[position])] |= Self.affectsNFC
        }
        var compositions: [UInt64: UInt32] = [:]
        let triples = CLIPUnicodeTables.compositionTriples
        for position in stride(from: 0, to: triples.count, by: 3) {
            compositions[UInt64(triples[position]) << 32 | UInt64(triples[position + 1])] = triples[position + 2]
            flags[Int(triples[position + 1])] |= Self.affectsNFC
        }
        // Conjoining vowels and trailing consonants compose with a preceding Hangul scalar.
        // Precomposed syllables need no flag: NFC keeps them unless such a scalar follows.
        for scalar in Hangul.vowelBase..<(Hangul.vowelBase + Hangul.vowelCount) {
            flags[Int(scalar)] |= Self.affectsNFC
        }
        for scalar in (Hangul.trailingBase + 1)..<(Hangul.trailingBase + Hangul.trailingCount) {
            flags[Int(scalar)] |= Self.affectsNFC
        }

        self.flags = flags
        self.lowercase = lowercase
        self.lowercaseExpansions = CLIPUnicodeTables.lowercaseExpansions
        self.decompositions = decompositions
        self.decompositionPool = CLIPUnicodeTables.decompositionPool
        self.combiningClasses = combiningClasses
        self.compositions = compositions
    }
}

/// Constants of the algorithmic Hangul syllable (de)composition in the Unicode standard, chapter 3.12.
enum Hangul {
    static let syllableBase: UInt32 = 0xAC00
    static let syllableCount: UInt32 = 11172
    static let leadingBase: UInt32 = 0x1100
    static let leadingCount: UInt32 = 19
    static let vowelBase: UInt32 = 0x1161
    static let vowelCount: UInt32 = 21
    static let trailingBase: UInt32 = 0x11A7
    static let trailingCount: UInt32 = 28
    static let syllablesPerLeading: UInt32 = vowelCount * trailingCount
}
