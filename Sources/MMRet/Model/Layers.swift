/// The weights of an `nn.Linear`: `weight` is `[out, in]`, `bias` has `out` values.
struct LinearWeights: Sendable {
    var weight: Matrix
    var bias: [Float]
}

/// The weights of an `nn.LayerNorm` over the last dimension.
struct LayerNormWeights: Sendable {
    var weight: [Float]
    var bias: [Float]
    var eps: Float
}

extension ComputeContext {
    func linear(_ input: Matrix, _ layer: LinearWeights) -> Matrix {
        linear(input, weight: layer.weight, bias: layer.bias)
    }

    func layerNorm(_ input: Matrix, _ norm: LayerNormWeights) -> Matrix {
        layerNorm(input, weight: norm.weight, bias: norm.bias, eps: norm.eps)
    }
}

/// One pre-norm transformer layer of CLIP (transformers' `CLIPEncoderLayer`):
/// `x += attention(layer_norm1(x))`, then `x += fc2(act(fc1(layer_norm2(x))))`.
struct EncoderLayer: Sendable {
    let layerNorm1: LayerNormWeights
    /// q_proj, k_proj and v_proj stacked into one `[3 * width, width]` projection, so that
    /// one GEMM computes all three.
    let queryKeyValue: LinearWeights
    let outputProjection: LinearWeights
    let layerNorm2: LayerNormWeights
    let fc1: LinearWeights
    let fc2: LinearWeights
    let headCount: Int
    let activation: Activation

    init(reader: WeightReader, prefix: String, headCount: Int, activation: Activation, eps: Float) throws(WeightsError) {
        layerNorm1 = try reader.layerNorm(prefix + "layer_norm1", eps: eps)
        layerNorm2 = try reader.layerNorm(prefix + "layer_norm2", eps: eps)
        let query = try reader.linear(prefix + "self_attn.q_proj")
        let key = try reader.linear(prefix + "self_attn.k_proj")
        let value = try reader.linear(prefix + "self_attn.v_proj")
        queryKeyValue = LinearWeights(
            weight: Matrix(rows: 3 * query.weight.rows, columns: query.weight.columns,
                           values: query.weight.values + key.weight.values + value.weight.values),
            bias: query.bias + key.bias + value.bias
        )
        outputProjection = try reader.linear(prefix + "self_attn.out_proj")
        fc1 = try reader.linear(prefix + "mlp.fc1")
        fc2 = try reader.linear(prefix + "mlp.fc2")
        self.headCount = headCount
        self.activation = activation
    }

    /// Applies the layer in place to `hidden`, `[batch * sequence, width]`.
    func callAsFunction(_ hidden: inout Matrix, shape: AttentionShape, mask: AttentionMask, context: ComputeContext) {
        let normed = context.layerNorm(hidden, layerNorm1)
        let queryKeyValueRows = context.linear(normed, queryKeyValue)
        let attended = context.attention(queryKeyValueRows, shape: shape, headCount: headCount, mask: mask)
        context.linearAddingInPlace(attended, weight: outputProjection.weight, bias: outputProjection.bias, to: &hidden)

        let normed2 = context.layerNorm(hidden, layerNorm2)
        let intermediate = context.linear(normed2, weight: fc1.weight, bias: fc1.bias, activation: activation)
        context.linearAddingInPlace(intermediate, weight: fc2.weight, bias: fc2.bias, to: &hidden)
    }
}

/// A stack of encoder layers (transformers' `CLIPEncoder`).
struct TransformerEncoder: Sendable {
    let layers: [EncoderLayer]

    init(reader: WeightReader, tower: String, layerCount: Int, headCount: Int, activation: Activation, eps: Float) throws(WeightsError) {
        var layers: [EncoderLayer] = []
        for index in 0 ..< layerCount {
            let prefix = CLIPWeightNames.layerPrefix(tower: tower, index: index)
            layers.append(try EncoderLayer(reader: reader, prefix: prefix, headCount: headCount, activation: activation, eps: eps))
        }
        self.layers = layers
    }

    func callAsFunction(_ hidden: inout Matrix, shape: AttentionShape, mask: AttentionMask, context: ComputeContext) {
        for layer in layers {
            layer(&hidden, shape: shape, mask: mask, context: context)
        }
    }
}
