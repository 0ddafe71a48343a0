import Foundation

/// The text tower's `text_config`, with transformers 4.45.2's `CLIPTextConfig` defaults
/// for keys that `config.json` omits (transformers writes only the keys that differ).
public struct CLIPTextConfig: Sendable, Equatable {
    public var vocabSize = 49408
    public var hiddenSize = 512
    public var intermediateSize = 2048
    public var numHiddenLayers = 12
    public var numAttentionHeads = 8
    public var maxPositionEmbeddings = 77
    public var hiddenAct = Activation.quickGELU
    public var layerNormEps: Float = 1e-5
    public var padTokenID = 1
    public var bosTokenID = 49406
    public var eosTokenID = 49407

    public init() {}

    /// Whether text features pool at the largest token id. Older CLIP configs
    /// (openai/clip-*, BGE-VL) keep `eos_token_id` 2 from an early tokenizer, so
    /// transformers pools at the largest id instead. That is where `<|endoftext|>`, the
    /// largest id of the CLIP vocabulary, sits.
    public var poolsAtLargestTokenID: Bool { eosTokenID == 2 }
}

/// The image tower's `vision_config`, with transformers 4.45.2's `CLIPVisionConfig`
/// defaults for omitted keys.
public struct CLIPVisionConfig: Sendable, Equatable {
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var numChannels = 3
    public var imageSize = 224
    public var patchSize = 32
    public var hiddenAct = Activation.quickGELU
    public var layerNormEps: Float = 1e-5

    public init() {}

    public var patchesPerSide: Int { imageSize / patchSize }
    /// Patches plus the class token.
    public var sequenceLength: Int { patchesPerSide * patchesPerSide + 1 }
}

/// A `CLIPConfig` read from a checkpoint's `config.json`.
public struct CLIPConfig: Sendable, Equatable {
    public var text = CLIPTextConfig()
    public var vision = CLIPVisionConfig()
    public var projectionDim = 512

    public init() {}

    /// Reads `config.json` in `directory`, applying transformers' defaults to omitted keys
    /// and ignoring keys the forward pass does not use (architectures, torch_dtype, ...).
    public init(directory: URL) throws(ConfigError) {
        let url = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ConfigError(
                path: url.path, key: nil,
                reason: "the file is missing; a model directory is a Hugging Face snapshot with config.json and model.safetensors"
            )
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConfigError(path: url.path, key: nil, reason: "cannot read it (\(error.localizedDescription))")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigError(path: url.path, key: nil, reason: "not a JSON object")
        }
        try self.init(json: root, path: url.path)
    }

    init(json root: [String: Any], path: String) throws(ConfigError) {
        var reader = ConfigReader(path: path)
        projectionDim = try reader.positiveInteger(root, "projection_dim", default: projectionDim)

        // transformers before 4.21 wrote the tower settings under *_config_dict. CLIPConfig
        // 4.45.2 still reads them, and when present they override *_config entirely: it
        // expands the dict with every default and writes all of its keys over *_config.
        let textJSON = try reader.towerObject(root, current: "text_config", legacy: "text_config_dict")
        let visionJSON = try reader.towerObject(root, current: "vision_config", legacy: "vision_config_dict")

        reader.prefix = "text_config."
        text.vocabSize = try reader.positiveInteger(textJSON, "vocab_size", default: text.vocabSize)
        text.hiddenSize = try reader.positiveInteger(textJSON, "hidden_size", default: text.hiddenSize)
        text.intermediateSize = try reader.positiveInteger(textJSON, "intermediate_size", default: text.intermediateSize)
        text.numHiddenLayers = try reader.positiveInteger(textJSON, "num_hidden_layers", default: text.numHiddenLayers)
        text.numAttentionHeads = try reader.positiveInteger(textJSON, "num_attention_heads", default: text.numAttentionHeads)
        text.maxPositionEmbeddings = try reader.positiveInteger(textJSON, "max_position_embeddings", default: text.maxPositionEmbeddings)
        text.hiddenAct = try reader.activation(textJSON, "hidden_act", default: text.hiddenAct)
        text.layerNormEps = try reader.positiveFloat(textJSON, "layer_norm_eps", default: text.layerNormEps)
        text.padTokenID = try reader.integer(textJSON, "pad_token_id", default: text.padTokenID)
        text.bosTokenID = try reader.integer(textJSON, "bos_token_id", default: text.bosTokenID)
        text.eosTokenID = try reader.integer(textJSON, "eos_token_id", default: text.eosTokenID)
        guard text.hiddenSize % text.numAttentionHeads == 0 else {
            throw ConfigError(path: path, key: "text_config.num_attention_heads", reason: "hidden_size \(text.hiddenSize) is not divisible by \(text.numAttentionHeads) heads")
        }

        reader.prefix = "vision_config."
        vision.hiddenSize = try reader.positiveInteger(visionJSON, "hidden_size", default: vision.hiddenSize)
        vision.intermediateSize = try reader.positiveInteger(visionJSON, "intermediate_size", default: vision.intermediateSize)
        vision.numHiddenLayers = try reader.positiveInteger(visionJSON, "num_hidden_layers", default: vision.numHiddenLayers)
        vision.numAttentionHeads = try reader.positiveInteger(visionJSON, "num_attention_heads", default: vision.numAttentionHeads)
        vision.numChannels = try reader.positiveInteger(visionJSON, "num_channels", default: vision.numChannels)
        vision.imageSize = try reader.positiveInteger(visionJSON, "image_size", default: vision.imageSize)
        vision.patchSize = try reader.positiveInteger(visionJSON, "patch_size", default: vision.patchSize)
        vision.hiddenAct = try reader.activation(visionJSON, "hidden_act", default: vision.hiddenAct)
        vision.layerNormEps = try reader.positiveFloat(visionJSON, "layer_norm_eps", default: vision.layerNormEps)
        guard vision.hiddenSize % vision.numAttentionHeads == 0 else {
            throw ConfigError(path: path, key: "vision_config.num_attention_heads", reason: "hidden_size \(vision.hiddenSize) is not divisible by \(vision.numAttentionHeads) heads")
        }
        guard vision.imageSize % vision.patchSize == 0 else {
            throw ConfigError(path: path, key: "vision_config.patch_size", reason: "image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
        }
    }
}

/// An invalid `config.json`: the file, the key (dotted, as in `text_config.hidden_size`)
/// and what is wrong with it.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let key: String?
    public let reason: String

    public var description: String {
        if let key {
            "invalid \(key) in \(path): \(reason)"
        } else {
            "invalid model config \(path): \(reason)"
        }
    }
}

/// Typed lookups in a JSON object that name the key on failure.
private struct ConfigReader {
    let path: String
    var prefix = ""

    func object(_ json: [String: Any], _ key: String) throws(ConfigError) -> [String: Any]? {
        guard let value = json[key], !(value is NSNull) else { return nil }
        guard let object = value as? [String: Any] else {
            throw ConfigError(path: path, key: prefix + key, reason: "expected a JSON object")
        }
        return object
    }

    /// Returns the legacy object when it exists, else the current one, else an empty one.
    func towerObject(_ json: [String: Any], current: String, legacy: String) throws(ConfigError) -> [String: Any] {
        if let legacyObject = try object(json, legacy) {
            return legacyObject
        }
        return try object(json, current) ?? [:]
    }

    func integer(_ json: [String: Any], _ key: String, default defaultValue: Int) throws(ConfigError) -> Int {
        guard let value = json[key], !(value is NSNull) else { return defaultValue }
        guard let number = value as? NSNumber,
              number.doubleValue.rounded() == number.doubleValue, abs(number.doubleValue) <= Double(Int32.max)
        else {
            // Every CLIP dimension and token id fits in 32 bits. The bound also keeps
            // products such as (image_size / patch_size)² far from overflowing.
            throw ConfigError(path: path, key: prefix + key, reason: "expected an integer of at most 32 bits, got \(value)")
        }
        return number.intValue
    }

    func positiveInteger(_ json: [String: Any], _ key: String, default defaultValue: Int) throws(ConfigError) -> Int {
        let value = try integer(json, key, default: defaultValue)
        guard value > 0 else {
            throw ConfigError(path: path, key: prefix + key, reason: "expected a positive integer, got \(value)")
        }
        return value
    }

    func positiveFloat(_ json: [String: Any], _ key: String, default defaultValue: Float) throws(ConfigError) -> Float {
        guard let value = json[key], !(value is NSNull) else { return defaultValue }
        guard let number = value as? NSNumber, number.doubleValue > 0, number.doubleValue.isFinite else {
            throw ConfigError(path: path, key: prefix + key, reason: "expected a positive number, got \(value)")
        }
        return number.floatValue
    }

    func activation(_ json: [String: Any], _ key: String, default defaultValue: Activation) throws(ConfigError) -> Activation {
        guard let value = json[key], !(value is NSNull) else { return defaultValue }
        guard let name = value as? String, let activation = Activation(rawValue: name) else {
            throw ConfigError(path: path, key: prefix + key, reason: "unsupported activation \(value); supported: quick_gelu, gelu")
        }
        return activation
    }
}
