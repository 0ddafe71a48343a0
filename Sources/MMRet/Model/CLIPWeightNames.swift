/// The tensor names and shapes of transformers' `CLIPModel` for one configuration: the
/// single table that the loader checks a checkpoint against and reads weights by.
enum CLIPWeightNames {
    /// Tensors that checkpoints may carry but the forward pass does not use: the
    /// contrastive temperature and the registered position-id buffers.
    static let ignoredTensors: Set<String> = [
        "logit_scale",
        "text_model.embeddings.position_ids",
        "vision_model.embeddings.position_ids",
    ]

    static func textEmbeddings(_ text: CLIPTextConfig) -> [String: [Int]] {
        [
            "text_model.embeddings.token_embedding.weight": [text.vocabSize, text.hiddenSize],
            "text_model.embeddings.position_embedding.weight": [text.maxPositionEmbeddings, text.hiddenSize],
            "text_model.final_layer_norm.weight": [text.hiddenSize],
            "text_model.final_layer_norm.bias": [text.hiddenSize],
        ]
    }

    static func visionEmbeddings(_ vision: CLIPVisionConfig) -> [String: [Int]] {
        let width = vision.hiddenSize
        return [
            "vision_model.embeddings.class_embedding": [width],
            "vision_model.embeddings.patch_embedding.weight": [width, vision.numChannels, vision.patchSize, vision.patchSize],
            "vision_model.embeddings.position_embedding.weight": [vision.sequenceLength, width],
            "vision_model.pre_layrnorm.weight": [width],
            "vision_model.pre_layrnorm.bias": [width],
            "vision_model.post_layernorm.weight": [width],
            "vision_model.post_layernorm.bias": [width],
        ]
    }

    static func projections(_ config: CLIPConfig) -> [String: [Int]] {
        [
            "text_projection.weight": [config.projectionDim, config.text.hiddenSize],
            "visual_projection.weight": [config.projectionDim, config.vision.hiddenSize],
        ]
    }

    /// Returns the prefix shared by all encoder layers of `tower`, such as
    /// `text_model.encoder.layers.`.
    static func layersPrefix(tower: String) -> String {
        "\(tower).encoder.layers."
    }

    /// Returns the prefix of encoder layer `index`, such as `text_model.encoder.layers.3.`.
    static func layerPrefix(tower: String, index: Int) -> String {
        layersPrefix(tower: tower) + "\(index)."
    }

    /// Returns the tensors of one pre-norm encoder layer, relative to its prefix.
    static func encoderLayer(hiddenSize: Int, intermediateSize: Int) -> [String: [Int]] {
        var table: [String: [Int]] = [:]
        for projection in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            table["self_attn.\(projection).weight"] = [hiddenSize, hiddenSize]
            table["self_attn.\(projection).bias"] = [hiddenSize]
        }
        for norm in ["layer_norm1", "layer_norm2"] {
            table["\(norm).weight"] = [hiddenSize]
            table["\(norm).bias"] = [hiddenSize]
        }
        table["mlp.fc1.weight"] = [intermediateSize, hiddenSize]
        table["mlp.fc1.bias"] = [intermediateSize]
        table["mlp.fc2.weight"] = [hiddenSize, intermediateSize]
        table["mlp.fc2.bias"] = [hiddenSize]
        return table
    }

    /// Every tensor a checkpoint with this configuration must contain, with its shape.
    static func all(_ config: CLIPConfig) -> [String: [Int]] {
        var table = textEmbeddings(config.text)
        table.merge(visionEmbeddings(config.vision)) { first, _ in first }
        table.merge(projections(config)) { first, _ in first }
        let towers = [
            ("text_model", config.text.numHiddenLayers, config.text.hiddenSize, config.text.intermediateSize),
            ("vision_model", config.vision.numHiddenLayers, config.vision.hiddenSize, config.vision.intermediateSize),
        ]
        for (tower, layers, hidden, intermediate) in towers {
            let layerTable = encoderLayer(hiddenSize: hidden, intermediateSize: intermediate)
            for index in 0 ..< layers {
                let prefix = layerPrefix(tower: tower, index: index)
                for (suffix, shape) in layerTable {
                    table[prefix + suffix] = shape
                }
            }
        }
        return table
    }
}
