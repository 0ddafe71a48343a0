/// A batch of token sequences padded to one length, as the tokenizer returns them.
public struct TokenBatch: Sendable, Equatable {
    public let batchSize: Int
    public let sequenceLength: Int
    /// `[batchSize * sequenceLength]` token ids, row after row.
    public let ids: [Int32]
    /// `[batchSize * sequenceLength]`: 1 for a real token, 0 for padding.
    public let attentionMask: [Int32]

    public init(batchSize: Int, sequenceLength: Int, ids: [Int32], attentionMask: [Int32]) {
        precondition(ids.count == batchSize * sequenceLength && attentionMask.count == ids.count,
                     "a token batch of \(batchSize)x\(sequenceLength) needs that many ids and mask values")
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.ids = ids
        self.attentionMask = attentionMask
    }

    /// Pads `sequences` on the right with `paddingID` to the longest one, as
    /// CLIPTokenizerFast does with `padding=True` (its pad token is `<|endoftext|>`).
    public init(sequences: [[Int32]], paddingID: Int32) {
        let length = sequences.map(\.count).max() ?? 0
        var ids: [Int32] = []
        var mask: [Int32] = []
        ids.reserveCapacity(sequences.count * length)
        mask.reserveCapacity(sequences.count * length)
        for sequence in sequences {
            ids += sequence + [Int32](repeating: paddingID, count: length - sequence.count)
            mask += [Int32](repeating: 1, count: sequence.count) + [Int32](repeating: 0, count: length - sequence.count)
        }
        self.init(batchSize: sequences.count, sequenceLength: length, ids: ids, attentionMask: mask)
    }

    /// Returns the first `length` positions of the sequences in `items`, in that order.
    func truncatedRows(_ items: ArraySlice<Int>, length: Int) -> TokenBatch {
        precondition(length <= sequenceLength)
        var ids: [Int32] = []
        var mask: [Int32] = []
        ids.reserveCapacity(items.count * length)
        mask.reserveCapacity(items.count * length)
        for item in items {
            let start = item * sequenceLength
            ids += self.ids[start ..< start + length]
            mask += attentionMask[start ..< start + length]
        }
        return TokenBatch(batchSize: items.count, sequenceLength: length, ids: ids, attentionMask: mask)
    }

    /// Returns the sequences in `items`, with the same padded length.
    public func slice(_ items: Range<Int>) -> TokenBatch {
        let range = items.lowerBound * sequenceLength ..< items.upperBound * sequenceLength
        return TokenBatch(batchSize: items.count, sequenceLength: sequenceLength, ids: Array(ids[range]), attentionMask: Array(attentionMask[range]))
    }
}

/// Input that does not fit the model: names the row, the position and the limit.
public enum ModelInputError: Error, CustomStringConvertible, Equatable {
    case tokenOutOfRange(row: Int, position: Int, id: Int32, vocabSize: Int)
    case sequenceTooLong(length: Int, maximum: Int)
    case pixelCountMismatch(expected: Int, actual: Int, imageSize: Int, channels: Int)
    case emptySequence

    public var description: String {
        switch self {
        case let .tokenOutOfRange(row, position, id, vocabSize):
            "token id \(id) at row \(row), position \(position) is outside the vocabulary of \(vocabSize); were the ids made by this model's tokenizer?"
        case let .sequenceTooLong(length, maximum):
            "token sequences of length \(length) exceed the model's max_position_embeddings \(maximum); truncate to \(maximum) tokens"
        case let .pixelCountMismatch(expected, actual, imageSize, channels):
            "pixel values hold \(actual) floats, not a multiple of \(expected) (\(channels)x\(imageSize)x\(imageSize) per image, channels first)"
        case .emptySequence:
            "token sequences must hold at least one token"
        }
    }
}
