/// One step of a `tokenizer.json` normalizer that this package implements.
enum NormalizerStep: Sendable, Equatable {
    /// `{"type": "NFC"}`: canonical composition, with the Unicode data of tokenizers 0.20.
    case nfc
    /// `{"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": …}`: every run of
    /// whitespace (`\s` as the tokenizers library matches it) becomes `replacement`.
    case replaceWhitespace(replacement: [UInt32])
    /// `{"type": "Lowercase"}`: the tokenizers library's mapping, scalar by scalar, without
    /// the context rules of `String.lowercased()` (a final capital sigma becomes σ, not ς).
    case lowercase
}

/// The normalizer of a tokenizer: its steps applied in order to Unicode scalar values.
struct CLIPNormalizer: Sendable {
    let steps: [NormalizerStep]
    private let data = CLIPUnicodeData.shared

    init(steps: [NormalizerStep]) {
        self.steps = steps
    }

    /// Normalizes `scalars` in place.
    func normalize(_ scalars: inout [UInt32]) {
        for step in steps {
            switch step {
            case .nfc:
                composeCanonically(&scalars)
            case .replaceWhitespace(let replacement):
                replaceWhitespace(&scalars, with: replacement)
            case .lowercase:
                lowercase(&scalars)
            }
        }
    }

    private func replaceWhitespace(_ scalars: inout [UInt32], with replacement: [UInt32]) {
        let flags = data.flags
        var hasWhitespace = false
        for scalar in scalars where flags[Int(scalar)] & CLIPUnicodeData.whitespace != 0 {
            hasWhitespace = true
            break
        }
        guard hasWhitespace else { return }

        if replacement.count <= 1 {
            // The result is never longer than the input, so compact in place.
            var write = 0
            var inRun = false
            for read in scalars.indices {
                let scalar = scalars[read]
                if flags[Int(scalar)] & CLIPUnicodeData.whitespace != 0 {
                    if !inRun, let space = replacement.first {
                        scalars[write] = space
                        write += 1
                    }
                    inRun = true
                } else {
                    scalars[write] = scalar
                    write += 1
                    inRun = false
                }
            }
            scalars.removeLast(scalars.count - write)
            return
        }

        var result: [UInt32] = []
        result.reserveCapacity(scalars.count)
        var inRun = false
        for scalar in scalars {
            if flags[Int(scalar)] & CLIPUnicodeData.whitespace != 0 {
                if !inRun {
                    result.append(contentsOf: replacement)
                    inRun = true
                }
            } else {
                result.append(scalar)
                inRun = false
            }
        }
        scalars = result
    }

    private func lowercase(_ scalars: inout [UInt32]) {
        let flags = data.flags
        var expands = false
        for index in scalars.indices {
            let scalar = scalars[index]
            if scalar < 0x80 {
                if scalar >= 0x41 && scalar <= 0x5A {
                    scalars[index] = scalar + 0x20
                }
            } else if flags[Int(scalar)] & CLIPUnicodeData.hasLowercase != 0 {
                if let lower = data.lowercase[scalar] {
                    scalars[index] = lower
                } else {
                    expands = true
                }
            }
        }
        guard expands else { return }

        var result: [UInt32] = []
        result.reserveCapacity(scalars.count + 4)
        for scalar in scalars {
            if let expansion = data.lowercaseExpansions[scalar] {
                result.append(contentsOf: expansion)
            } else {
                result.append(scalar)
            }
        }
        scalars = result
    }

    // MARK: NFC

    private func composeCanonically(_ scalars: inout [UInt32]) {
        let flags = data.flags
        var needsWork = false
        for scalar in scalars where scalar >= 0x300 && flags[Int(scalar)] & CLIPUnicodeData.affectsNFC != 0 {
            needsWork = true
            break
        }
        guard needsWork else { return }

        var decomposed = decompose(scalars)
        orderCanonically(&decomposed)
        scalars = compose(decomposed)
    }

    private func decompose(_ scalars: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(scalars.count + 8)
        for scalar in scalars {
            if scalar >= Hangul.syllableBase && scalar < Hangul.syllableBase + Hangul.syllableCount {
                let index = scalar - Hangul.syllableBase
                result.append(Hangul.leadingBase + index / Hangul.syllablesPerLeading)
                result.append(Hangul.vowelBase + (index % Hangul.syllablesPerLeading) / Hangul.trailingCount)
                if index % Hangul.trailingCount != 0 {
                    result.append(Hangul.trailingBase + index % Hangul.trailingCount)
                }
            } else if let entry = data.decompositions[scalar] {
                let offset = Int(entry >> 8)
                let count = Int(entry & 0xFF)
                result.append(contentsOf: data.decompositionPool[offset..<(offset + count)])
            } else {
                result.append(scalar)
            }
        }
        return result
    }

    private func combiningClass(_ scalar: UInt32) -> UInt8 {
        data.combiningClasses[scalar] ?? 0
    }

    /// Sorts every run of non-starters by combining class, keeping the order of equal classes.
    private func orderCanonically(_ scalars: inout [UInt32]) {
        var start = 0
        while start < scalars.count {
            guard combiningClass(scalars[start]) != 0 else {
                start += 1
                continue
            }
            var end = start
            while end < scalars.count && combiningClass(scalars[end]) != 0 {
                end += 1
            }
            if end - start > 1 {
                // Runs are short, so an insertion sort (stable) is the right tool.
                for i in (start + 1)..<end {
                    let scalar = scalars[i]
                    let scalarClass = combiningClass(scalar)
                    var j = i
                    while j > start && combiningClass(scalars[j - 1]) > scalarClass {
                        scalars[j] = scalars[j - 1]
                        j -= 1
                    }
                    scalars[j] = scalar
                }
            }
            start = end
        }
    }

    private func composePair(_ first: UInt32, _ second: UInt32) -> UInt32? {
        if first >= Hangul.leadingBase && first < Hangul.leadingBase + Hangul.leadingCount
            && second >= Hangul.vowelBase && second < Hangul.vowelBase + Hangul.vowelCount
        {
            let leading = first - Hangul.leadingBase
            let vowel = second - Hangul.vowelBase
            return Hangul.syllableBase + (leading * Hangul.vowelCount + vowel) * Hangul.trailingCount
        }
        if first >= Hangul.syllableBase && first < Hangul.syllableBase + Hangul.syllableCount
            && (first - Hangul.syllableBase) % Hangul.trailingCount == 0
            && second > Hangul.trailingBase && second < Hangul.trailingBase + Hangul.trailingCount
        {
            return first + (second - Hangul.trailingBase)
        }
        return data.compositions[UInt64(first) << 32 | UInt64(second)]
    }

    /// Composes canonically: a scalar joins the last starter unless a scalar between them is
    /// a starter or has a combining class at least as high as its own.
    private func compose(_ scalars: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(scalars.count)
        var starterIndex = -1
        var lastClass: UInt8 = 0
        for scalar in scalars {
            let scalarClass = combiningClass(scalar)
            if starterIndex >= 0 {
                let adjacent = result.count - 1 == starterIndex
                let unblocked = adjacent || (lastClass != 0 && lastClass < scalarClass)
                if unblocked, let composite = composePair(result[starterIndex], scalar) {
                    result[starterIndex] = composite
                    continue
                }
            }
            if scalarClass == 0 {
                starterIndex = result.count
            }
            lastClass = scalarClass
            result.append(scalar)
        }
        return result
    }
}
