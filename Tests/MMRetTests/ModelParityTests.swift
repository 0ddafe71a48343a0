import Foundation
import Testing
@testable import MMRet

/// Features of the fixture checkpoints against transformers 4.45.2's
/// `get_text_features` / `get_image_features` on the same inputs.
///
/// Tolerance: max absolute difference 1e-4 and cosine similarity 0.99999 per row, the
/// fp32 parity bound of this package. Each variant is compared with the reference that
/// transformers computed from that variant's own file (F16 and BF16 weights widened to fp32).
struct ModelParityTests {
    static let variants = [
        "legacy-pooling", "legacy-pooling-f16", "legacy-pooling-bf16", "legacy-pooling-sharded",
        "eos-pooling", "eos-pooling-f16", "eos-pooling-bf16", "eos-pooling-sharded",
    ]
    static let maximumAbsoluteDifference: Float = 1e-4
    static let minimumCosine: Float = 0.99999

    struct Reference {
        let tokens: TokenBatch
        let pixelValues: [Float]
        let textFeatures: Matrix
        let imageFeatures: Matrix
        let singleTextFeatures: Matrix

        /// The expected features of fixture `variant`, with the inputs that all variants of
        /// its model share (stored with the plain F32 variant).
        init(_ variant: String) throws {
            let model = ["-f16", "-bf16", "-sharded"].reduce(variant) { name, suffix in
                name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : name
            }
            try self.init(features: TestFixtures.reference(variant), inputs: TestFixtures.reference(model))
        }

        /// Reads expected features from `features` and the inputs they belong to from
        /// `inputs` (which may be the same file).
        init(features: URL, inputs inputsURL: URL) throws {
            let file = try SafetensorsFile(url: features)
            let inputs = try SafetensorsFile(url: inputsURL)
            let idsShape = try #require(inputs.tensors["input_ids"]?.shape)
            tokens = TokenBatch(
                batchSize: idsShape[0], sequenceLength: idsShape[1],
                ids: try inputs.integers("input_ids").map { Int32($0) },
                attentionMask: try inputs.integers("attention_mask").map { Int32($0) }
            )
            pixelValues = try inputs.floats("pixel_values")
            textFeatures = try Self.matrix(file, "text_features")
            imageFeatures = try Self.matrix(file, "image_features")
            singleTextFeatures = try Self.matrix(file, "text_features_single")
        }

        static func matrix(_ file: SafetensorsFile, _ name: String) throws -> Matrix {
            let shape = try #require(file.tensors[name]?.shape)
            return Matrix(rows: shape[0], columns: shape[1], values: try file.floats(name))
        }
    }

    @Test(arguments: variants)
    func textFeaturesMatchTransformers(variant: String) throws {
        let model = try CLIPModel(directory: TestFixtures.model(variant))
        let reference = try Reference(variant)
        let features = try model.textFeatures(reference.tokens, context: ComputeContext())
        Self.expectClose(features, reference.textFeatures, label: "\(variant) text")
    }

    @Test(arguments: variants)
    func imageFeaturesMatchTransformers(variant: String) throws {
        let model = try CLIPModel(directory: TestFixtures.model(variant))
        let reference = try Reference(variant)
        let features = try model.imageFeatures(pixelValues: reference.pixelValues, context: ComputeContext())
        Self.expectClose(features, reference.imageFeatures, label: "\(variant) image")
    }

    /// Both fp32 weight layouts (plain through either GEMM library, and packed for
    /// oneDNN's matmul where the processor has AVX-512) against transformers.
    @Test(arguments: ["legacy-pooling", "eos-pooling"])
    func bothGEMMBackendsMatch(variant: String) throws {
        let directory = TestFixtures.model(variant)
        let reference = try Reference(variant)
        for layout in [WeightLayout.plain, .packed(.fp32)] {
            let model = try CLIPModel(config: CLIPConfig(directory: directory), store: WeightStore(directory: directory), layout: layout)
            for backend in [OpenBLASBackend() as any GEMMBackend, OneDNNBackend()] {
                let context = ComputeContext(gemm: backend)
                let label = "\(variant) \(layout) \(backend.name)"
                Self.expectClose(try model.textFeatures(reference.tokens, context: context), reference.textFeatures, label: "\(label) text")
                Self.expectClose(try model.imageFeatures(pixelValues: reference.pixelValues, context: context), reference.imageFeatures, label: "\(label) image")
            }
        }
    }

    /// A text's features do not depend on the padding that batching adds: each row of the
    /// padded batch equals that text run alone, and equals transformers' single-text run.
    @Test(arguments: ["legacy-pooling", "eos-pooling"])
    func paddingDoesNotChangeText(variant: String) throws {
        let model = try CLIPModel(directory: TestFixtures.model(variant))
        let reference = try Reference(variant)
        let context = ComputeContext()
        let batched = try model.textFeatures(reference.tokens, context: context)
        for row in 0 ..< reference.tokens.batchSize {
            let length = Int(reference.tokens.attentionMask[row * reference.tokens.sequenceLength ..< (row + 1) * reference.tokens.sequenceLength].reduce(0, +))
            let start = row * reference.tokens.sequenceLength
            let alone = TokenBatch(sequences: [Array(reference.tokens.ids[start ..< start + length])], paddingID: 0)
            let single = try model.textFeatures(alone, context: context)
            // The same kernels run on the same row. Only the GEMM's blocking, which depends
            // on the row count, may reorder a sum, so the bound is a few fp32 ulps of O(1)
            // values: ten times tighter than the parity bound.
            let difference = zip(single.values, batched.row(row)).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= 1e-5, "\(variant) row \(row): alone vs in a padded batch differ by \(difference)")
            Self.expectClose(single, Matrix(rows: 1, columns: single.columns, values: reference.singleTextFeatures.row(row)), label: "\(variant) single text \(row)")
        }
    }

    /// Left padding and an all-padding row put the pooled position on a token that may
    /// attend to no key. transformers then spreads its attention evenly over the keys
    /// masked by one rule only, and this package must do the same.
    @Test(arguments: ["legacy-pooling", "eos-pooling"])
    func unusualPaddingMatchesTransformers(variant: String) throws {
        let model = try CLIPModel(directory: TestFixtures.model(variant))
        let file = try SafetensorsFile(url: TestFixtures.reference(variant))
        let shape = try #require(file.tensors["padding_input_ids"]?.shape)
        let tokens = TokenBatch(
            batchSize: shape[0], sequenceLength: shape[1],
            ids: try file.integers("padding_input_ids").map { Int32($0) },
            attentionMask: try file.integers("padding_attention_mask").map { Int32($0) }
        )
        let expected = try Reference.matrix(file, "padding_text_features")
        for threads in [1, 2] {
            let features = try model.textFeatures(tokens, context: ComputeContext(threadCount: threads))
            Self.expectClose(features, expected, label: "\(variant) unusual padding, \(threads) threads")
        }
    }

    /// Texts run at their own cut lengths, grouped by length and spread over threads,
    /// must give the rows of the padded computation in their original order.
    @Test(arguments: ["legacy-pooling", "eos-pooling", "eos-pooling-bf16"])
    func lengthBucketsMatchPaddedBatch(variant: String) throws {
        for precision in Precision.allCases {
            let model = try CLIPModel(directory: TestFixtures.model(variant), precision: precision)
            let text = model.config.text
            let endID = Int32(text.poolsAtLargestTokenID ? text.vocabSize - 1 : text.eosTokenID)
            // Lengths from 2 to the model's maximum in a scrambled order, so that the
            // sorting, the grouping and the order of the output rows all matter.
            let maximum = text.maxPositionEmbeddings
            var sequences: [[Int32]] = []
            for index in 0 ..< 23 {
                let length = 2 + (index * 7) % (maximum - 1)
                var sequence = [Int32(text.bosTokenID)]
                for position in 1 ..< length - 1 {
                    sequence.append(Int32(3 + (index * 31 + position * 17) % 400))
                }
                sequences.append(sequence + [endID])
            }
            let tokens = TokenBatch(sequences: sequences, paddingID: endID)
            for threads in [1, 2] {
                let context = ComputeContext(threadCount: threads)
                let bucketed = try model.textFeatures(tokens, context: context)
                let padded = try model.text.paddedFeatures(tokens, context: context)
                for row in 0 ..< tokens.batchSize {
                    let difference = zip(bucketed.row(row), padded.row(row)).map { abs($0 - $1) }.max() ?? 0
                    // As in paddingDoesNotChangeText: only the GEMM blocking differs.
                    #expect(difference <= 1e-5, "\(variant) \(precision) row \(row), \(threads) threads: bucketed vs padded differ by \(difference)")
                }
            }
        }
    }

    static func expectClose(_ actual: Matrix, _ expected: Matrix, label: String) {
        #expect(actual.rows == expected.rows, "\(label): \(actual.rows) rows vs \(expected.rows)")
        #expect(actual.columns == expected.columns, "\(label): \(actual.columns) columns vs \(expected.columns)")
        guard actual.rows == expected.rows, actual.columns == expected.columns else { return }
        for row in 0 ..< actual.rows {
            let a = actual.row(row)
            let b = expected.row(row)
            var worst = (index: 0, difference: Float(0))
            for index in a.indices where !(abs(a[index] - b[index]) <= worst.difference) {
                worst = (index, abs(a[index] - b[index]))
            }
            #expect(worst.difference <= Self.maximumAbsoluteDifference,
                    "\(label) row \(row) column \(worst.index): \(a[worst.index]) vs reference \(b[worst.index])")
            let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let norms = (a.reduce(0) { $0 + $1 * $1 } * b.reduce(0) { $0 + $1 * $1 }).squareRoot()
            #expect(dot / norms >= Self.minimumCosine, "\(label) row \(row): cosine \(dot / norms)")
        }
    }
}
