import Foundation
import Testing
@testable import MMRet

/// config.json reading: transformers 4.45.2's defaults for omitted keys, errors that name
/// the key.
struct ConfigTests {
    @Test func omittedKeysTakeTransformersDefaults() throws {
        let config = try CLIPConfig(directory: TestFixtures.model("legacy-pooling"))
        #expect(config.projectionDim == 512)
        #expect(config.text.maxPositionEmbeddings == 77)
        #expect(config.text.hiddenAct == .quickGELU)
        #expect(config.text.layerNormEps == 1e-5)
        #expect(config.text.eosTokenID == 2)
        #expect(config.text.poolsAtLargestTokenID)
        #expect(config.vision.imageSize == 224)
        #expect(config.vision.patchSize == 32)
        #expect(config.vision.numChannels == 3)
        #expect(config.vision.hiddenAct == .quickGELU)
        #expect(config.text.hiddenSize == 32)
        #expect(config.vision.hiddenSize == 48)
    }

    @Test func writtenKeysOverrideDefaults() throws {
        let config = try CLIPConfig(directory: TestFixtures.model("eos-pooling"))
        #expect(config.projectionDim == 16)
        #expect(config.text.hiddenAct == .gelu)
        #expect(config.vision.hiddenAct == .gelu)
        #expect(config.text.layerNormEps == 1e-6)
        #expect(config.vision.layerNormEps == 1e-6)
        #expect(config.text.eosTokenID == 500)
        #expect(!config.text.poolsAtLargestTokenID)
        #expect(config.text.maxPositionEmbeddings == 20)
        #expect(config.vision.imageSize == 30)
        #expect(config.vision.patchSize == 6)
    }

    func configError(_ json: String) throws -> ConfigError? {
        let directory = try TestFixtures.temporaryDirectory()
        try Data(json.utf8).write(to: directory.appendingPathComponent("config.json"))
        do {
            _ = try CLIPConfig(directory: directory)
            return nil
        } catch {
            return error
        }
    }

    @Test func wrongTypeNamesTheKey() throws {
        let error = try configError(#"{"text_config": {"hidden_size": "wide"}}"#)
        #expect(error?.key == "text_config.hidden_size")
    }

    @Test func oversizedIntegerIsRejected() throws {
        let error = try configError(#"{"vision_config": {"image_size": 100000000000}}"#)
        #expect(error?.key == "vision_config.image_size")
    }

    @Test func unknownActivationIsRejected() throws {
        let error = try configError(#"{"vision_config": {"hidden_act": "relu"}}"#)
        #expect(error?.key == "vision_config.hidden_act")
        #expect(error?.description.contains("quick_gelu, gelu") == true)
    }

    @Test func headsMustDivideWidth() throws {
        let error = try configError(#"{"vision_config": {"hidden_size": 100, "num_attention_heads": 12}}"#)
        #expect(error?.key == "vision_config.num_attention_heads")
    }

    @Test func notAnObject() throws {
        let error = try configError("[1, 2]")
        #expect(error?.reason == "not a JSON object")
    }

    @Test func missingFileIsNamed() throws {
        let directory = try TestFixtures.temporaryDirectory()
        #expect(throws: ConfigError.self) { try CLIPConfig(directory: directory) }
    }

    /// transformers 4.45.2 expands text_config_dict with every default and writes it over
    /// text_config, so keys set only in text_config are lost.
    @Test func legacyDictOverridesCurrentKeys() throws {
        let directory = try TestFixtures.temporaryDirectory()
        let json = #"{"text_config": {"hidden_size": 64, "num_attention_heads": 4, "eos_token_id": 2}, "text_config_dict": {"hidden_size": 32}}"#
        try Data(json.utf8).write(to: directory.appendingPathComponent("config.json"))
        let config = try CLIPConfig(directory: directory)
        #expect(config.text.hiddenSize == 32)
        #expect(config.text.numAttentionHeads == 8)
        #expect(config.text.eosTokenID == 49407)
    }

    @Test func legacyDictKeysAreRead() throws {
        let config = try CLIPConfig(directory: try {
            let directory = try TestFixtures.temporaryDirectory()
            try Data(#"{"text_config_dict": {"hidden_size": 64, "num_attention_heads": 4}, "vision_config": {"patch_size": 16}}"#.utf8)
                .write(to: directory.appendingPathComponent("config.json"))
            return directory
        }())
        #expect(config.text.hiddenSize == 64)
        #expect(config.vision.patchSize == 16)
    }
}
