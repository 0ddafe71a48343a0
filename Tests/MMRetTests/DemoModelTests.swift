import Foundation
import Testing
@testable import MMRet

/// The bundled demo model (demo/model, trained by tools/demo/train_demo_model.py on
/// synthetic shapes) on its held-out set, which no training image shares an attribute
/// combination with.
///
/// Retrieval: text-to-image Recall@1 at least 0.9 and composed Recall@1 at least 0.8, computed
/// by mmret over all held-out images. Parity: the first 16 rows of each type against
/// transformers 4.45.2, max absolute difference 1e-4 and cosine 0.99999.
struct DemoModelTests {
    static let repositoryRoot = TestFixtures.root
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelDirectory = repositoryRoot.appendingPathComponent("demo/model")
    static let heldOutDirectory = TestFixtures.root.appendingPathComponent("demo-heldout")

    struct HeldOutSet {
        let imageIDs: [String]
        let captions: [String]
        let captionImages: [String]
        let modifications: [String]
        let referenceImages: [String]
        let targets: [String]

        init() throws {
            let captions = heldOutDirectory.appendingPathComponent("captions.jsonl")
            let composed = heldOutDirectory.appendingPathComponent("composed.jsonl")
            self.captions = try JSONLines.readStrings(at: captions, field: "text")
            captionImages = try JSONLines.readStrings(at: captions, field: "image")
            modifications = try JSONLines.readStrings(at: composed, field: "text")
            referenceImages = try JSONLines.readStrings(at: composed, field: "image")
            targets = try JSONLines.readStrings(at: composed, field: "target")
            imageIDs = try FileManager.default.contentsOfDirectory(atPath: heldOutDirectory.appendingPathComponent("images").path)
                .filter { $0.hasSuffix(".png") }.sorted()
        }
    }

    static func encoder() throws -> MMRetEncoder {
        var options = EncoderOptions()
        options.imageDirectory = heldOutDirectory.appendingPathComponent("images")
        return try MMRetEncoder(modelDirectory: modelDirectory, options: options)
    }

    /// Returns the fraction of queries whose best-scoring image is the expected one.
    static func recallAtOne(queries: Embeddings, gallery: Embeddings, galleryIDs: [String], expected: [String]) -> Double {
        let search = InnerProductSearch(corpus: gallery)
        var hits = 0
        for row in 0 ..< queries.rows {
            let best = search.topK(queries.row(row), k: 1).first.map { galleryIDs[$0.row] }
            if best == expected[row] {
                hits += 1
            }
        }
        return Double(hits) / Double(max(queries.rows, 1))
    }

    @Test func textToImageRecallAtOne() throws {
        let set = try HeldOutSet()
        #expect(set.captions.count >= 100, "the held-out set is too small to measure recall")
        let encoder = try Self.encoder()
        let gallery = try encoder.encodeImages(set.imageIDs)
        let recall = Self.recallAtOne(
            queries: try encoder.encodeText(set.captions), gallery: gallery, galleryIDs: set.imageIDs, expected: set.captionImages
        )
        #expect(recall >= 0.9, "text-to-image Recall@1 \(recall) over \(set.captions.count) captions")
    }

    @Test func composedRecallAtOne() throws {
        let set = try HeldOutSet()
        #expect(set.modifications.count >= 100, "the held-out set is too small to measure recall")
        let encoder = try Self.encoder()
        let gallery = try encoder.encodeImages(set.imageIDs)
        let queries = try encoder.encodeComposed(captions: set.modifications, imageIDs: set.referenceImages)
        let recall = Self.recallAtOne(queries: queries, gallery: gallery, galleryIDs: set.imageIDs, expected: set.targets)
        #expect(recall >= 0.8, "composed Recall@1 \(recall) over \(set.modifications.count) queries")
    }

    /// Each query of demo/queries.jsonl ranks its expected images first, in order, over the
    /// demo corpus, as `make demo` shows.
    @Test func demoQueriesFindTheirExpectedImages() throws {
        let demo = Self.repositoryRoot.appendingPathComponent("demo")
        var options = EncoderOptions()
        options.imageDirectory = demo.appendingPathComponent("images")
        let encoder = try MMRetEncoder(modelDirectory: Self.modelDirectory, options: options)
        let corpusIDs = try JSONLines.readStrings(at: demo.appendingPathComponent("corpus.jsonl"), field: "image")
        let search = InnerProductSearch(corpus: try encoder.encodeImages(corpusIDs))

        let queries = try JSONLines.readObjects(at: demo.appendingPathComponent("queries.jsonl"))
        #expect(queries.count == 3)
        for query in queries {
            let type = try EncodingType(name: try #require(query.object["type"] as? String))
            let expected = try #require(query.object["expected"] as? [String])
            let text = query.object["text"] as? String
            let image = query.object["image"] as? String
            let embedding: [Float]
            switch type {
            case .text: embedding = try encoder.encodeText(try #require(text))
            case .image: embedding = try encoder.encodeImage(try #require(image))
            case .composed: embedding = try encoder.encodeComposed(caption: try #require(text), imageID: try #require(image))
            }
            let ranked = search.topK(embedding, k: expected.count).map { corpusIDs[$0.row] }
            #expect(ranked == expected, "demo query on line \(query.lineNumber)")
        }
    }

    /// The reference file holds the first 16 captions, held-out images (in file-name order)
    /// and composed queries, as transformers embeds them from the F16 weights.
    @Test func embeddingsMatchTransformers() throws {
        let set = try HeldOutSet()
        let reference = try SafetensorsFile(url: Self.heldOutDirectory.appendingPathComponent("reference.safetensors"))
        func expected(_ name: String) throws -> Embeddings {
            let shape = try #require(reference.tensors[name]?.shape)
            return Embeddings(rows: shape[0], dimension: shape[1], values: try reference.floats(name))
        }
        let encoder = try Self.encoder()
        EncoderTests.expectMatches(try encoder.encodeText(Array(set.captions.prefix(16))), try expected("text"), "demo text")
        EncoderTests.expectMatches(try encoder.encodeImages(Array(set.imageIDs.prefix(16))), try expected("image"), "demo image")
        EncoderTests.expectMatches(
            try encoder.encodeComposed(captions: Array(set.modifications.prefix(16)), imageIDs: Array(set.referenceImages.prefix(16))),
            try expected("composed"), "demo mm_it"
        )
    }
}
