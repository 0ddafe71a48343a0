import Dispatch

/// The weights of an `nn.Linear`: `weight` is `[out, in]`, `bias` has `out` values.
/// When the layer is packed for oneDNN's matmul, the weight lives only in `packed` and
/// `weight` is empty.
struct LinearWeights: Sendable {
    var weight: Matrix
    var bias: [Float]
    var packed: PackedWeights? = nil

    /// Returns the layer stored in `layout`. A packed layer keeps no fp32 `[out, in]` copy.
    func converted(to layout: WeightLayout) -> LinearWeights {
        switch layout {
        case .plain:
            self
        case let .packed(precision):
            LinearWeights(weight: Matrix(rows: 0, columns: 0), bias: bias, packed: PackedWeights(weight: weight, precision: precision))
        }
    }
}

/// The storage of the encoder layers' linear weights.
enum WeightLayout: Sendable, Equatable {
    /// fp32 `[out, in]` matrices, multiplied through the context's GEMM backend.
    case plain
    /// Packed for oneDNN's matmul, with weights and GEMM inputs in the given precision.
    case packed(Precision)

    /// Returns the layout for `precision`: packed, except for fp32 where oneDNN has no
    /// brgemm kernel (no AVX-512). Packed fp32 weights skip the repacking that every
    /// `dnnl_sgemm` call does, which matters most for the short rows of text batches.
    static func preferred(for precision: Precision) -> WeightLayout {
        precision == .fp32 && !packsFP32 ? .plain : .packed(precision)
    }

    private static let packsFP32 = OneDNNMatmul.hasFastKernel(for: .fp32)

    var precision: Precision {
        switch self {
        case .plain: .fp32
        case let .packed(precision): precision
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

    let layout: WeightLayout

    init(reader: WeightReader, prefix: String, headCount: Int, activation: Activation, eps: Float, layout: WeightLayout) throws(WeightsError) {
        layerNorm1 = try reader.layerNorm(prefix + "layer_norm1", eps: eps)
        layerNorm2 = try reader.layerNorm(prefix + "layer_norm2", eps: eps)
        let query = try reader.linear(prefix + "self_attn.q_proj")
        let key = try reader.linear(prefix + "self_attn.k_proj")
        let value = try reader.linear(prefix + "self_attn.v_proj")
        queryKeyValue = LinearWeights(
            weight: Matrix(rows: 3 * query.weight.rows, columns: query.weight.columns,
                           values: query.weight.values + key.weight.values + value.weight.values),
            bias: query.bias + key.bias + value.bias
        ).converted(to: layout)
        outputProjection = try reader.linear(prefix + "self_attn.out_proj").converted(to: layout)
        fc1 = try reader.linear(prefix + "mlp.fc1").converted(to: layout)
        fc2 = try reader.linear(prefix + "mlp.fc2").converted(to: layout)
        self.headCount = headCount
        self.activation = activation
        self.layout = layout
    }

    /// Applies the layer in place to `hidden`, `[batch * sequence, width]`.
    func callAsFunction(_ hidden: inout Matrix, shape: AttentionShape, mask: AttentionMask, context: ComputeContext) {
        switch layout {
        case .plain:
            break
        case .packed(.fp32):
            applyPacked(&hidden, shape: shape, mask: mask, context: context, element: Float.self)
            return
        case .packed(.bf16):
            applyPacked(&hidden, shape: shape, mask: mask, context: context, element: UInt16.self)
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

    /// Applies the layer with packed weights and GEMM inputs of type `Element` (fp32, or
    /// bf16 bit patterns). Each layer norm writes straight into the next GEMM's input. fc1
    /// applies its bias and activation inside the matmul and writes fc2's input, and the
    /// two residual GEMMs add into the fp32 hidden state.
    private func applyPacked<Element: MatmulElement>(
        _ hidden: inout Matrix, shape: AttentionShape, mask: AttentionMask, context: ComputeContext, element: Element.Type
    ) {
        let normed = context.layerNorm(hidden, layerNorm1, as: Element.self)
        var queryKeyValueRows = Matrix(rows: hidden.rows, columns: 3 * hidden.columns)
        context.matmul(normed, queryKeyValue, activation: nil, into: &queryKeyValueRows, accumulate: false)
        let attended = context.attention(queryKeyValueRows, shape: shape, headCount: headCount, mask: mask)
        context.matmul(context.matmulInput(attended.values, as: Element.self), outputProjection, activation: nil, into: &hidden, accumulate: true)

        let normed2 = context.layerNorm(hidden, layerNorm2, as: Element.self)
        let intermediate = context.matmul(normed2, fc1, activation: activation)
        context.matmul(intermediate, fc2, activation: nil, into: &hidden, accumulate: true)
    }
}

/// A stack of encoder layers (transformers' `CLIPEncoder`).
struct TransformerEncoder: Sendable {
    let layers: [EncoderLayer]

    init(reader: WeightReader, tower: String, layerCount: Int, headCount: Int, activation: Activation, eps: Float, layout: WeightLayout) throws(WeightsError) {
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
                    try EncoderLayer(reader: reader, prefix: prefix, headCount: headCount, activation: activation, eps: eps, layout: layout)
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
