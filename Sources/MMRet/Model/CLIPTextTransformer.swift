/// The text tower of transformers' `CLIPModel` up to the pooled output, plus
/// `text_projection`: `get_text_features`.
struct CLIPTextTransformer: Sendable {
    let config: CLIPTextConfig
    let tokenEmbedding: Matrix
    let positionEmbedding: Matrix
    let encoder: TransformerEncoder
    let finalLayerNorm: LayerNormWeights
    let projection: Matrix

    init(reader: WeightReader, config: CLIPTextConfig, precision: Precision) throws(WeightsError) {
        self.config = config
        tokenEmbedding = try reader.matrix("text_model.embeddings.token_embedding.weight")
        positionEmbedding = try reader.matrix("text_model.embeddings.position_embedding.weight")
        encoder = try TransformerEncoder(
            reader: reader, tower: "text_model", layerCount: config.numHiddenLayers,
            headCount: config.numAttentionHeads, activation: config.hiddenAct, eps: config.layerNormEps,
            precision: precision
        )
        finalLayerNorm = try reader.layerNorm("text_model.final_layer_norm", eps: config.layerNormEps)
        projection = try reader.matrix("text_projection.weight")
    }

    /// Projected text features, `[batchSize, projection_dim]`, not normalised.
    func features(_ tokens: TokenBatch, context: ComputeContext) throws(ModelInputError) -> Matrix {
        try validate(tokens)
        return context.stackingShards(of: tokens.batchSize) { items, shardContext in
            computeFeatures(tokens.slice(items), context: shardContext)
        }
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
