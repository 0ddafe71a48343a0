import Foundation
import MMRet

/// `mmret info --model DIR`: the architecture of a checkpoint, read from config.json and
/// the safetensors headers (no weights are converted).
enum InfoCommand {
    static func run(_ arguments: [String]) throws {
        let options = try CommandLineArguments(command: "info", arguments: arguments, valueOptions: ["model"])
        let directory = try options.directory("model")

        let summary = try CheckpointSummary(directory: directory)
        let config = summary.config
        let text = config.text
        let vision = config.vision
        let dtypes = summary.storedDTypes.map(\.rawValue).sorted().joined(separator: ", ")
        let pooling = text.poolsAtLargestTokenID
            ? "at the largest token id (legacy eos_token_id 2)"
            : "at the first eos_token_id \(text.eosTokenID)"

        print("""
            model:       \(directory.path)
            parameters:  \(summary.parameterCount) (\(String(format: "%.1f", Double(summary.parameterCount) / 1e6))M), stored as \(dtypes)
            text:        width \(text.hiddenSize), \(text.numHiddenLayers) layers, \(text.numAttentionHeads) heads, MLP \(text.intermediateSize), \(text.hiddenAct.rawValue), layer_norm_eps \(text.layerNormEps)
                         vocabulary \(text.vocabSize), max positions \(text.maxPositionEmbeddings), pooling \(pooling)
            vision:      width \(vision.hiddenSize), \(vision.numHiddenLayers) layers, \(vision.numAttentionHeads) heads, MLP \(vision.intermediateSize), \(vision.hiddenAct.rawValue), layer_norm_eps \(vision.layerNormEps)
                         image \(vision.imageSize)x\(vision.imageSize), patch \(vision.patchSize) (\(vision.sequenceLength) tokens with the class token), \(vision.numChannels) channels
            projection:  \(config.projectionDim)
            """)
    }
}
