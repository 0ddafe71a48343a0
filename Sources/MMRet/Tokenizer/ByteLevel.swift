/// GPT-2's reversible map from bytes to printable characters, which byte-level BPE
/// vocabularies are written in: printable Latin-1 bytes map to themselves and the other 68
/// bytes to U+0100 and up, in byte order.
enum ByteLevel {
    /// The character for each byte value.
    static let characters: [Character] = {
        var isPrintable = [Bool](repeating: false, count: 256)
        for byte in 0x21...0x7E { isPrintable[byte] = true }
        for byte in 0xA1...0xAC { isPrintable[byte] = true }
        for byte in 0xAE...0xFF { isPrintable[byte] = true }

        var characters = [Character](repeating: " ", count: 256)
        var nextExtra: UInt32 = 0x100
        for byte in 0..<256 {
            if isPrintable[byte] {
                characters[byte] = Character(Unicode.Scalar(UInt8(byte)))
            } else {
                // 0x100..<0x144 are all valid scalars, so the fallback is never taken.
                characters[byte] = Character(Unicode.Scalar(nextExtra) ?? "?")
                nextExtra += 1
            }
        }
        return characters
    }()

    /// Returns the byte-level string of `bytes`, the form in which the vocabulary lists tokens.
    static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var result = ""
        for byte in bytes {
            result.append(characters[Int(byte)])
        }
        return result
    }
}
