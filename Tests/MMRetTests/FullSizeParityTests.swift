import Foundation
import Testing
@testable import MMRet

/// Opt-in parity on a full-size checkpoint, where rounding has 12 or 24 layers to grow.
///
/// Set `MMRET_FULL_SIZE_MODEL` to a directory written by
/// tools/bench/make_bge_vl_checkpoint.py and then tools/reference/make_full_size_reference.py,
/// which adds `reference.safetensors` beside the weights. Neither is committed: the
/// weights are hundreds of megabytes. Tolerances are those of `ModelParityTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MMRET_FULL_SIZE_MODEL"] != nil))
struct FullSizeParityTests {
    let directory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["MMRET_FULL_SIZE_MODEL"] ?? "")

    @Test func featuresMatchTransformers() throws {
        let referenceURL = directory.appendingPathComponent("reference.safetensors")
        let reference = try ModelParityTests.Reference(features: referenceURL, inputs: referenceURL)
        let model = try CLIPModel(directory: directory)
        let context = ComputeContext()

        let text = try model.textFeatures(reference.tokens, context: context)
        ModelParityTests.expectClose(text, reference.textFeatures, label: "\(directory.lastPathComponent) text")
        let images = try model.imageFeatures(pixelValues: reference.pixelValues, context: context)
        ModelParityTests.expectClose(images, reference.imageFeatures, label: "\(directory.lastPathComponent) image")
    }

    /// bf16 against transformers' fp32 features, with the bound of `BF16ModelTests`.
    @Test func bf16FeaturesMatchFP32Reference() throws {
        let referenceURL = directory.appendingPathComponent("reference.safetensors")
        let reference = try ModelParityTests.Reference(features: referenceURL, inputs: referenceURL)
        let model = try CLIPModel(directory: directory, precision: .bf16)
        let context = ComputeContext()

        let text = try model.textFeatures(reference.tokens, context: context)
        BF16ModelTests.expectCosine(text, reference.textFeatures, label: "\(directory.lastPathComponent) bf16 text")
        let images = try model.imageFeatures(pixelValues: reference.pixelValues, context: context)
        BF16ModelTests.expectCosine(images, reference.imageFeatures, label: "\(directory.lastPathComponent) bf16 image")
    }
}
