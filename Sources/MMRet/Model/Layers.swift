import Dispatch

/// The weights of an `nn.Linear`: `weight` is `[out, in]`, `bias` has `out` values.
/// In bf16 precision the weight lives only in `packed` and `weight` is empty.
struct LinearWeights: Sendable {
    var weight: Matrix
    var bias: [Float]
    var packed: PackedBF16Weights? = nil

    /// Returns the layer as `precision` computes it: unchanged for fp32; for bf16 the
    /// weight is rounded and packed, and its fp32 copy dropped.
    func converted(to precision: Precision) -> LinearWeights {
        switch precision {
        case .fp32: self
        case .bf16: LinearWeights(weight: Matrix(rows: 0, columns: 0), bias: bias, packed: PackedBF16Weights(weight: weight))
        }
    }
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

    let precision: Precision

    init(reader: WeightReader, prefix: String, headCount: Int, activation: Activation, eps: Float, precision: Precision) throws(WeightsError) {
        layerNorm1 = try reader.layerNorm(prefix + "layer_norm1", eps: eps)
        layerNorm2 = try reader.layerNorm(prefix + "layer_norm2", eps: eps)
        let query = try reader.linear(prefix + "self_attn.q_proj")
        let key = try reader.linear(prefix + "self_attn.k_proj")
        let value = try reader.linear(prefix + "self_attn.v_proj")
        queryKeyValue = LinearWeights(
            weight: Matrix(rows: 3 * query.weight.rows, columns: query.weight.columns,
                           values: query.weight.values + key.weight.values + value.weight.values),
            bias: query.bias + key.bias + value.bias
        ).converted(to: precision)
        outputProjection = try reader.linear(prefix + "self_attn.out_proj").converted(to: precision)
        fc1 = try reader.linear(prefix + "mlp.fc1").converted(to: precision)
        fc2 = try reader.linear(prefix + "mlp.fc2").converted(to: precision)
        self.headCount = headCount
        self.activation = activation
        self.precision = precision
    }

    /// Applies the layer in place to `hidden`, `[batch * sequence, width]`.
    func callAsFunction(_ hidden: inout Matrix, shape: AttentionShape, mask: AttentionMask, context: ComputeContext) {
        if precision == .bf16 {
            applyBF16(&hidden, shape: shape, mask: mask, context: context)
            return
        }
        let normed = context.layerNorm(hidden, layerNorm1)
        let queryKeyValueRows = context.linear(normed, queryKeyValue)
        let attended = context.attention(queryKeyValueRows, shape: shape, headCount: headCount, mask: mask)
        context.linearAddingInPlace(attended, weight: outputProjection.weight, bias: outputProjection.bias, to: &hidden)

        let normed2 = context.layerNorm(hidden, layerNorm2)
        let intermediate = context.linear(normed2, weight: fc1.weight, bias: fc1.bias, activation: activation)
        context.linearAddingInPlace(intermediate, weight: fc2.weight, bias: fc2.bias, to: &hidden)
    }

    /// The layer with bf16 GEMM inputs: each layer norm writes bf16 straight into the next
    /// GEMM's input, fc1 applies its bias and activation inside the matmul and writes
    /// bf16 for fc2, and the two residual GEMMs add into the fp32 hidden state.
    private func applyBF16(_ hidden: inout Matrix, shape: AttentionShape, mask: AttentionMask, context: ComputeContext) {
        let rows = hidden.rows
        let width = hidden.columns
        var normed = [UInt16](repeating: 0, count: rows * width)
        normed.withUnsafeMutableBufferPointer { buffer in
            context.layerNorm(hidden, weight: layerNorm1.weight, bias: layerNorm1.bias, eps: layerNorm1.eps, output: nil, outputBF16: buffer.baseAddress!)
        }
        var queryKeyValueRows = Matrix(rows: rows, columns: 3 * width)
        context.matmulBF16(normed, queryKeyValue, activation: nil, into: &queryKeyValueRows, accumulate: false)
        let attended = context.attention(queryKeyValueRows, shape: shape, headCount: headCount, mask: mask)
        let attendedBF16 = context.roundedToBF16(attended.values)
        context.matmulBF16(attendedBF16, outputProjection, activation: nil, into: &hidden, accumulate: true)

        normed.withUnsafeMutableBufferPointer { buffer in
            context.layerNorm(hidden, weight: layerNorm2.weight, bias: layerNorm2.bias, eps: layerNorm2.eps, output: nil, outputBF16: buffer.baseAddress!)
        }
        let intermediate = context.matmulBF16(normed, fc1, activation: activation)
        context.matmulBF16(intermediate, fc2, activation: nil, into: &hidden, accumulate: true)
    }
}

/// A stack of encoder layers (transformers' `CLIPEncoder`).
struct TransformerEncoder: Sendable {
    let layers: [EncoderLayer]

    init(reader: WeightReader, tower: String, layerCount: Int, headCount: Int, activation: Activation, eps: Float, precision: Precision) throws(WeightsError) {
        // Layers load on all cores at once: most of a load is the kernel zeroing fresh
        // pages for the converted weights, and that work splits across threads.
        var results = [Result<EncoderLayer, WeightsError>?](repeating: nil, count: layerCount)
        results.withUnsafeMutableBufferPointer { buffer in
            // Each iteration writes only its own slot, and concurrentPerform returns after
            // all of them.
            let slots = UncheckedSendable(buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: layerCount) { index in
                let prefix = CLIPWeightNames.layerPrefix(tower: tower, index: index)
                slots.value[index] = Result { () throws(WeightsError) -> EncoderLayer in
                    try EncoderLayer(reader: reader, prefix: prefix, headCount: headCount, activation: activation, eps: eps, precision: precision)
                }
            }
        }
        var layers: [EncoderLayer] = []
        for result in results {
            // Every slot was written above; the first failing layer's error is reported.
            layers.append(try result!.get())
        }
        self.layers = layers
    }

    func callAsFunction(_ hidden: inout Matrix, shape: AttentionShape, mask: AttentionMask, context: ComputeContext) {
        for layer in layers {
            layer(&hidden, shape: shape, mask: mask, context: context)
        }
    }
}
