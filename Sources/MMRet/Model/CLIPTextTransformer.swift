/// The text tower of transformers' `CLIPModel` up to the pooled output, plus
/// `text_projection`: `get_text_features`.
struct CLIPTextTransformer: Sendable {
    let config: CLIPTextConfig
    let tokenEmbedding: Matrix
    let positionEmbedding: Matrix
    let encoder: TransformerEncoder
    let finalLayerNorm: LayerNormWeights
    let projection: Matrix

    init(reader: WeightReader, config: CLIPTextConfig, layout: WeightLayout) throws(WeightsError) {
        self.config = config
        tokenEmbedding = try reader.matrix("text_model.embeddings.token_embedding.weight")
        positionEmbedding = try reader.matrix("text_model.embeddings.position_embedding.weight")
        encoder = try TransformerEncoder(
            reader: reader, tower: "text_model", layerCount: config.numHiddenLayers,
            headCount: config.numAttentionHeads, activation: config.hiddenAct, eps: config.layerNormEps,
            layout: layout
        )
        finalLayerNorm = try reader.layerNorm("text_model.final_layer_norm", eps: config.layerNormEps)
        projection = try reader.matrix("text_projection.weight")
    }

    /// Projected text features, `[batchSize, projection_dim]`, not normalised.
    ///
    /// Each text runs at its own length rather than the batch's padded one: the causal
    /// mask keeps every position from attending to later ones, so the pooled position's
    /// hidden state depends only on the tokens up to it. Texts are cut just past their
    /// pooled position, rounded up to a multiple of `lengthGranularity`, and texts of equal
    /// cut length run together as one batch. The cut does not apply to a text whose first
    /// position is padding: a query with no allowed key attends to later keys (see
    /// `attention`).
    func features(_ tokens: TokenBatch, context: ComputeContext) throws(ModelInputError) -> Matrix {
        try validate(tokens)
        let batchSize = tokens.batchSize
        let cutLengths = (0 ..< batchSize).map { cutLength(tokens, item: $0) }

        // Shortest first, then cut into one contiguous run per thread with about the same
        // number of tokens each, so that every shard multiplies few, tall length groups.
        let sorted = (0 ..< batchSize).sorted { (cutLengths[$0], $0) < (cutLengths[$1], $1) }
        let ranges = tokenBalancedRanges(sorted.map { cutLengths[$0] }, shards: min(context.threadCount, batchSize))
        let stacked = context.stackingShards(ranges) { range, shardContext in
            let items = Array(sorted[range])
            var features: [Float] = []
            var start = 0
            while start < items.count {
                let length = cutLengths[items[start]]
                var end = start + 1
                while end < items.count && cutLengths[items[end]] == length {
                    end += 1
                }
                let group = tokens.truncatedRows(items[start ..< end], length: length)
                features += computeFeatures(group, context: shardContext).values
                start = end
            }
            return Matrix(rows: items.count, columns: projection.rows, values: features)
        }

        var output = Matrix(rows: batchSize, columns: projection.rows)
        let width = projection.rows
        for (position, item) in sorted.enumerated() {
            output.values.replaceSubrange(item * width ..< (item + 1) * width, with: stacked.values[position * width ..< (position + 1) * width])
        }
        return output
    }

    /// Features computed on the whole padded batch at once, without cutting: the
    /// computation that `features` must reproduce. For tests.
    func paddedFeatures(_ tokens: TokenBatch, context: ComputeContext) throws(ModelInputError) -> Matrix {
        try validate(tokens)
        return computeFeatures(tokens, context: context)
    }

    /// Splits `0 ..< lengths.count` into at most `shards` contiguous non-empty ranges whose
    /// sums of `lengths` are about equal.
    func tokenBalancedRanges(_ lengths: [Int], shards: Int) -> [Range<Int>] {
        let total = lengths.reduce(0, +)
        guard shards > 1, total > 0 else { return [0 ..< lengths.count] }
        var ranges: [Range<Int>] = []
        var start = 0
        var sum = 0
        for (index, length) in lengths.enumerated() {
            sum += length
            // Close the current range once it reaches its share of the running total.
            if ranges.count < shards - 1, sum * shards >= total * (ranges.count + 1), index + 1 < lengths.count {
                ranges.append(start ..< index + 1)
                start = index + 1
            }
        }
        ranges.append(start ..< lengths.count)
        return ranges
    }

    /// Positions a cut length is rounded up to, so that texts of nearby lengths share a
    /// GEMM. Each extra position costs work but changes no result.
    static let lengthGranularity = 4

    /// Returns how many leading positions of `item` determine its features.
    func cutLength(_ tokens: TokenBatch, item: Int) -> Int {
        let length = tokens.sequenceLength
        guard tokens.attentionMask[item * length] != 0 else { return length }
        let needed = poolingPosition(tokens, item: item) + 1
        let granularity = Self.lengthGranularity
        return min(length, (needed + granularity - 1) / granularity * granularity)
    }

    /// Computes the features of validated tokens.
    private func computeFeatures(_ tokens: TokenBatch, context: ComputeContext) -> Matrix {
        let length = tokens.sequenceLength
        let width = config.hiddenSize

        // Token plus position embeddings, one row per token.
        var hidden = Matrix(rows: tokens.batchSize * length, columns: width)
        for row in 0 ..< hidden.rows {
            let token = Int(tokens.ids[row])
            let position = row % length
            for column in 0 ..< width {
                hidden.values[row * width + column] = tokenEmbedding.values[token * width + column]
                    + positionEmbedding.values[position * width + column]
            }
        }

        let keyIsValid = tokens.attentionMask.map { $0 != 0 }
        encoder(&hidden, shape: AttentionShape(batch: tokens.batchSize, sequence: length), mask: .causal(keyIsValid: keyIsValid), context: context)

        // The final layer norm acts on each row alone, so normalising only the pooled rows
        // gives the same values as transformers' norm-then-gather.
        var pooled = Matrix(rows: tokens.batchSize, columns: width)
        for item in 0 ..< tokens.batchSize {
            let source = item * length + poolingPosition(tokens, item: item)
            pooled.values.replaceSubrange(item * width ..< (item + 1) * width, with: hidden.values[source * width ..< (source + 1) * width])
        }
        let normed = context.layerNorm(pooled, finalLayerNorm)
        return context.linear(normed, weight: projection, bias: [])
    }

    /// Returns the position whose hidden state becomes the text's embedding. With the
    /// legacy `eos_token_id` 2, transformers takes the first position of the largest id in
    /// the row, padding included. Otherwise it takes the first position that contains
    /// `eos_token_id`, or 0 when there is none, which is what `argmax` over an all-false
    /// row returns.
    func poolingPosition(_ tokens: TokenBatch, item: Int) -> Int {
        let row = tokens.ids[item * tokens.sequenceLength ..< (item + 1) * tokens.sequenceLength]
        if config.poolsAtLargestTokenID {
            var best = row.startIndex
            for index in row.indices where row[index] > row[best] {
                best = index
            }
            return best - row.startIndex
        }
        let eos = Int32(config.eosTokenID)
        guard let index = row.firstIndex(of: eos) else { return 0 }
        return index - row.startIndex
    }

    private func validate(_ tokens: TokenBatch) throws(ModelInputError) {
        guard tokens.sequenceLength > 0 || tokens.batchSize == 0 else {
            throw .emptySequence
        }
        guard tokens.sequenceLength <= config.maxPositionEmbeddings else {
            throw .sequenceTooLong(length: tokens.sequenceLength, maximum: config.maxPositionEmbeddings)
        }
        for (index, id) in tokens.ids.enumerated() where id < 0 || Int(id) >= config.vocabSize {
            throw .tokenOutOfRange(row: index / tokens.sequenceLength, position: index % tokens.sequenceLength, id: id, vocabSize: config.vocabSize)
        }
    }
}
