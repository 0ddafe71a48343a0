import Foundation

/// The contents of a checkpoint directory, checked strictly against its config but without
/// converting any weights, so it is cheap even for BGE-VL-large.
public struct CheckpointSummary: Sendable {
    public let config: CLIPConfig
    /// The dtypes the model's tensors are stored in on disk.
    public let storedDTypes: Set<TensorDType>
    public let parameterCount: Int

    public init(directory: URL) throws {
        let config = try CLIPConfig(directory: directory)
        let store = try WeightStore(directory: directory)
        self.init(config: config, reader: try WeightReader(store: store, config: config))
    }

    init(config: CLIPConfig, reader: WeightReader) {
        self.config = config
        storedDTypes = Set(reader.table.keys.compactMap { reader.store.info($0)?.dtype })
        parameterCount = reader.table.values.reduce(0) { $0 + $1.reduce(1, *) }
    }
}

/// A BGE-VL / CLIP model loaded from a Hugging Face snapshot directory: both towers and
/// both projections of transformers' `CLIPModel`, computing in fp32 or, with bf16
/// precision, with bf16 weights and GEMM inputs in the encoder layers.
public struct CLIPModel: Sendable {
    /// The configuration, the dtypes on disk (widened to fp32 on load) and the size.
    public let summary: CheckpointSummary
    public var config: CLIPConfig { summary.config }
    let text: CLIPTextTransformer
    let vision: CLIPVisionTransformer

    /// The arithmetic the encoder layers use.
    public let precision: Precision

    /// Loads `config.json` and the safetensors weights in `directory`. Loading is strict:
    /// a missing, unexpected or misshapen tensor is an error naming it. With bf16
    /// precision the layer weights are rounded and packed once here, whatever their dtype
    /// on disk, and no fp32 copy of them is kept.
    public init(directory: URL, precision: Precision = .fp32) throws {
        let config = try CLIPConfig(directory: directory)
        let store = try WeightStore(directory: directory)
        try self.init(config: config, store: store, precision: precision)
    }

    public init(config: CLIPConfig, store: WeightStore, precision: Precision = .fp32) throws(WeightsError) {
        if precision == .bf16 && !OneDNNMatmul.supports(.bf16) {
            throw .unsupportedPrecision(precision)
        }
        try self.init(config: config, store: store, layout: .preferred(for: precision))
    }

    /// Loads the model with its encoder layers' weights stored in `layout`, so that
    /// tests can run the layout this processor would not pick.
    init(config: CLIPConfig, store: WeightStore, layout: WeightLayout) throws(WeightsError) {
        let reader = try WeightReader(store: store, config: config)
        summary = CheckpointSummary(config: config, reader: reader)
        precision = layout.precision
        text = try CLIPTextTransformer(reader: reader, config: config.text, layout: layout)
        vision = try CLIPVisionTransformer(reader: reader, config: config.vision, layout: layout)
    }

    /// `get_text_features`: projected, unnormalised text features, `[batchSize, projection_dim]`.
    public func textFeatures(_ tokens: TokenBatch, context: ComputeContext) throws(ModelInputError) -> Matrix {
        try text.features(tokens, context: context)
    }

    /// `get_image_features`: projected, unnormalised image features, `[images, projection_dim]`,
    /// from pixel values laid out `[images, channels, image_size, image_size]`.
    public func imageFeatures(pixelValues: [Float], context: ComputeContext) throws(ModelInputError) -> Matrix {
        try vision.features(pixelValues: pixelValues, context: context)
    }
}
