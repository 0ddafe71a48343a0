import Foundation
import Testing
@testable import MMRet

/// The encoder end to end on the end-to-end fixture checkpoint (full CLIP vocabulary, F16
/// weights), against the embeddings that tools/reference/make_encoder_fixtures.py computed
/// by following the reference encoder with transformers 4.45.2.
///
/// Tolerance: max absolute difference 1e-4 and cosine 0.99999 per row, the fp32 parity
/// bound of this package.
struct EncoderTests {
    static let maximumAbsoluteDifference: Float = 1e-4
    static let minimumCosine: Float = 0.99999

    /// The inputs and expected embeddings of the end-to-end fixture.
    struct Fixture {
        static let modelDirectory = TestFixtures.model("end-to-end")
        static let inputDirectory = TestFixtures.root.appendingPathComponent("encoder")
        static let imageDirectory = inputDirectory.appendingPathComponent("images")

        let texts: [String]
        let imageIDs: [String]
        let composed: (captions: [String], imageIDs: [String])
        let reference: SafetensorsFile

        init() throws {
            texts = try JSONLines.readStrings(at: Self.inputDirectory.appendingPathComponent("texts.jsonl"), field: "text")
            imageIDs = try JSONLines.readStrings(at: Self.inputDirectory.appendingPathComponent("images.jsonl"), field: "image")
            let composedURL = Self.inputDirectory.appendingPathComponent("composed.jsonl")
            composed = (
                try JSONLines.readStrings(at: composedURL, field: "text"),
                try JSONLines.readStrings(at: composedURL, field: "image")
            )
            reference = try SafetensorsFile(url: TestFixtures.reference("end-to-end"))
        }

        func expected(_ name: String) throws -> Embeddings {
            let shape = try #require(reference.tensors[name]?.shape)
            return Embeddings(rows: shape[0], dimension: shape[1], values: try reference.floats(name))
        }

        static func encoder(_ configure: (inout EncoderOptions) -> Void = { _ in }) throws -> MMRetEncoder {
            var options = EncoderOptions()
            options.imageDirectory = imageDirectory
            configure(&options)
            return try MMRetEncoder(modelDirectory: modelDirectory, options: options)
        }
    }

    /// Checks every row of `actual` against `expected` within the parity tolerances.
    static func expectMatches(_ actual: Embeddings, _ expected: Embeddings, _ label: String) {
        #expect(actual.rows == expected.rows, "\(label): rows")
        #expect(actual.dimension == expected.dimension, "\(label): dimension")
        guard actual.rows == expected.rows, actual.dimension == expected.dimension else { return }
        for row in 0 ..< actual.rows {
            let a = actual.row(row)
            let b = expected.row(row)
            let difference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let norms = sqrt(a.reduce(0) { $0 + $1 * $1 }) * sqrt(b.reduce(0) { $0 + $1 * $1 })
            #expect(difference <= maximumAbsoluteDifference, "\(label) row \(row): max |difference| \(difference)")
            #expect(dot / max(norms, 1e-12) >= minimumCosine, "\(label) row \(row): cosine \(dot / norms)")
        }
    }

    @Test func textEmbeddingsMatchReference() throws {
        let fixture = try Fixture()
        let encoder = try Fixture.encoder()
        Self.expectMatches(try encoder.encodeText(fixture.texts), try fixture.expected("text"), "text")
    }

    @Test func imageEmbeddingsMatchReference() throws {
        let fixture = try Fixture()
        let encoder = try Fixture.encoder()
        Self.expectMatches(try encoder.encodeImages(fixture.imageIDs), try fixture.expected("image"), "image")
    }

    @Test func composedEmbeddingsMatchReference() throws {
        let fixture = try Fixture()
        let encoder = try Fixture.encoder()
        let composed = try encoder.encodeComposed(captions: fixture.composed.captions, imageIDs: fixture.composed.imageIDs)
        Self.expectMatches(composed, try fixture.expected("composed"), "mm_it")
    }

    /// Without normalisation, text and image rows are the raw projected features; composed
    /// rows stay normalised, as their definition normalises the sum.
    @Test func unnormalizedEmbeddingsAreRawFeatures() throws {
        let fixture = try Fixture()
        let encoder = try Fixture.encoder { $0.normalized = false }
        Self.expectMatches(try encoder.encodeText(fixture.texts), try fixture.expected("text_raw"), "raw text")
        Self.expectMatches(try encoder.encodeImages(fixture.imageIDs), try fixture.expected("image_raw"), "raw image")
        let composed = try encoder.encodeComposed(captions: fixture.composed.captions, imageIDs: fixture.composed.imageIDs)
        Self.expectMatches(composed, try fixture.expected("composed"), "mm_it without normalisation")
    }

    /// bf16 weights and GEMM inputs stay within cosine 0.999 per row of the fp32 reference,
    /// the reduced-precision bound of this package.
    @Test func bf16EmbeddingsStayCloseToReference() throws {
        let fixture = try Fixture()
        let encoder = try Fixture.encoder { $0.precision = .bf16 }
        let results = [
            ("text", try encoder.encodeText(fixture.texts)),
            ("image", try encoder.encodeImages(fixture.imageIDs)),
            ("composed", try encoder.encodeComposed(captions: fixture.composed.captions, imageIDs: fixture.composed.imageIDs)),
        ]
        for (name, actual) in results {
            let expected = try fixture.expected(name)
            #expect(actual.rows == expected.rows)
            for row in 0 ..< min(actual.rows, expected.rows) {
                let cosine = zip(actual.row(row), expected.row(row)).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                #expect(cosine >= 0.999, "bf16 \(name) row \(row): cosine \(cosine)")
            }
        }
    }

    @Test func queriesAndCorpusDispatchOnType() throws {
        let fixture = try Fixture()
        let encoder = try Fixture.encoder()
        Self.expectMatches(try encoder.encodeQueries(texts: fixture.texts, type: .text), try fixture.expected("text"), "queries text")
        Self.expectMatches(try encoder.encodeCorpus(images: fixture.imageIDs, type: .image), try fixture.expected("image"), "corpus image")
        Self.expectMatches(
            try encoder.encodeQueries(texts: fixture.composed.captions, images: fixture.composed.imageIDs, type: .composed),
            try fixture.expected("composed"), "queries mm_it"
        )
        #expect(throws: EncoderError.missingInputs(type: .composed, field: "image")) {
            try encoder.encodeQueries(texts: ["a"], type: .composed)
        }
        #expect(throws: EncoderError.unknownType("mm_ti")) { try EncodingType(name: "mm_ti") }
        #expect(try EncodingType(name: "mm_it") == .composed)
    }

    @Test func singleInputCallsEqualTheirBatchRows() throws {
        let fixture = try Fixture()
        let encoder = try Fixture.encoder()
        let text = try encoder.encodeText(fixture.texts[1])
        let image = try encoder.encodeImage(fixture.imageIDs[2])
        let composed = try encoder.encodeComposed(caption: fixture.composed.captions[0], imageID: fixture.composed.imageIDs[0])
        Self.expectMatches(Embeddings(rows: 1, dimension: text.count, values: text), try fixture.expected("text").row(1).asEmbeddings, "one text")
        Self.expectMatches(Embeddings(rows: 1, dimension: image.count, values: image), try fixture.expected("image").row(2).asEmbeddings, "one image")
        Self.expectMatches(
            Embeddings(rows: 1, dimension: composed.count, values: composed), try fixture.expected("composed").row(0).asEmbeddings, "one mm_it"
        )
    }

    /// Batch size and thread count change how the work is split, never the results (within
    /// 1e-5, the room that different GEMM blockings leave).
    @Test(arguments: [(1, 1), (2, 2), (5, 1), (256, 2)])
    func batchSizeAndThreadsKeepResults(batchSize: Int, threads: Int) throws {
        let fixture = try Fixture()
        let baseline = try Fixture.encoder { $0.batchSize = 32; $0.threadCount = 1 }
        let encoder = try Fixture.encoder { $0.batchSize = batchSize; $0.threadCount = threads }
        let pairs = [
            (try baseline.encodeText(fixture.texts), try encoder.encodeText(fixture.texts)),
            (try baseline.encodeImages(fixture.imageIDs), try encoder.encodeImages(fixture.imageIDs)),
            (
                try baseline.encodeComposed(captions: fixture.composed.captions, imageIDs: fixture.composed.imageIDs),
                try encoder.encodeComposed(captions: fixture.composed.captions, imageIDs: fixture.composed.imageIDs)
            ),
        ]
        for (expected, actual) in pairs {
            #expect(actual.rows == expected.rows)
            let difference = zip(actual.values, expected.values).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= 1e-5, "batch \(batchSize), \(threads) threads: max |difference| \(difference)")
        }
    }

    /// One encoder serves several tasks at once, each getting the results it would get alone.
    @Test func concurrentTasksShareOneEncoder() async throws {
        let fixture = try Fixture()
        let encoder = try Fixture.encoder { $0.threadCount = 1; $0.batchSize = 2 }
        let texts = fixture.texts
        let imageIDs = fixture.imageIDs
        let results = try await withThrowingTaskGroup(of: (Int, Embeddings).self) { group in
            for task in 0 ..< 6 {
                group.addTask {
                    (task, task % 2 == 0 ? try encoder.encodeText(texts) : try encoder.encodeImages(imageIDs))
                }
            }
            var results: [(Int, Embeddings)] = []
            for try await result in group {
                results.append(result)
            }
            return results
        }
        #expect(results.count == 6)
        for (task, embeddings) in results {
            Self.expectMatches(embeddings, try fixture.expected(task % 2 == 0 ? "text" : "image"), "task \(task)")
        }
    }

    @Test func streamingReportsProgressAndInputIndices() throws {
        let fixture = try Fixture()
        let encoder = try Fixture.encoder { $0.batchSize = 4 }
        var indices: [Int] = []
        var progress: [Int] = []
        try encoder.encode(type: .image, imageIDs: fixture.imageIDs, progress: { progress.append($0) }) { batch in
            #expect(batch.embeddings.rows == batch.inputIndices.count)
            indices += batch.inputIndices
        }
        #expect(indices == Array(0 ..< fixture.imageIDs.count))
        #expect(progress == [4, fixture.imageIDs.count])
    }

    @Test func missingAndCorruptImagesNameTheInput() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("not an image at all".utf8).write(to: directory.appendingPathComponent("broken.jpg"))
        try FileManager.default.copyItem(
            at: Fixture.imageDirectory.appendingPathComponent("gradient.jpg"), to: directory.appendingPathComponent("good.jpg")
        )
        let encoder = try Fixture.encoder { $0.imageDirectory = directory; $0.batchSize = 2 }

        #expect(throws: EncoderError.missingImage(index: 1, id: "absent.png", path: directory.appendingPathComponent("absent.png").path)) {
            try encoder.encodeImages(["good.jpg", "absent.png"])
        }
        do {
            _ = try encoder.encodeImages(["good.jpg", "good.jpg", "broken.jpg"])
            Issue.record("a corrupt image was encoded")
        } catch let error as EncoderError {
            guard case .invalidImage(let index, let id, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(index == 2)
            #expect(id == "broken.jpg")
            #expect(error.description.contains("broken.jpg"))
        }

        // Skipping leaves the bad inputs out and reports each one.
        let skipped = LockedList<EncoderError>()
        var kept: [Int] = []
        try encoder.encode(
            type: .image, imageIDs: ["broken.jpg", "good.jpg", "absent.png", "good.jpg"], invalidInputs: .skip { skipped.append($0) }
        ) { kept += $0.inputIndices }
        #expect(kept == [1, 3])
        #expect(skipped.values.map(\.inputIndex) == [0, 2])
    }

    /// When `consume` throws, the batch that was being decoded beside the model finishes
    /// before `encode` returns: its warning has been sent by then, not later.
    @Test func noDecodingOutlivesAThrowingConsumer() throws {
        struct Stop: Error {}
        let warnings = LockedList<String>()
        let encoder = try Fixture.encoder { $0.batchSize = 8; $0.threadCount = 1; $0.warningHandler = { warnings.append($0) } }
        let ids = Array(repeating: "gradient.jpg", count: 15) + ["gradient"]
        #expect(throws: Stop.self) {
            try encoder.encode(type: .image, imageIDs: ids) { _ in throw Stop() }
        }
        let atReturn = warnings.values.count
        Thread.sleep(forTimeInterval: 0.3)
        #expect(atReturn == 1)
        #expect(warnings.values.count == atReturn)
    }

    @Test func composedCountsMustMatch() throws {
        let encoder = try Fixture.encoder()
        #expect(throws: EncoderError.countMismatch(captions: 2, images: 1)) {
            try encoder.encodeComposed(captions: ["a", "b"], imageIDs: ["gradient.jpg"])
        }
    }

    /// An id without an extension whose file is missing is read with ".jpg" appended, and
    /// the encoder warns once, not once per image.
    @Test func idsWithoutExtensionFallBackToJPEGWithOneWarning() throws {
        let fixture = try Fixture()
        let warnings = LockedList<String>()
        let encoder = try Fixture.encoder { $0.warningHandler = { warnings.append($0) } }
        let embeddings = try encoder.encodeImages(["gradient", "sub/stripes", "gradient"])
        let expected = try fixture.expected("image")
        Self.expectMatches(embeddings, Embeddings(rows: 3, dimension: expected.dimension, values: expected.row(0) + expected.row(5) + expected.row(0)), ".jpg fallback")
        #expect(warnings.values.count == 1)
        #expect(warnings.values.first?.contains("gradient") == true)
    }

    @Test func rejectsTokenLimitsTheModelCannotTake() throws {
        #expect(throws: EncoderError.self) { try Fixture.encoder { $0.textMaxLength = 78 } }
        #expect(throws: EncoderError.self) { try Fixture.encoder { $0.composedTextMaxLength = 1 } }
        #expect(throws: EncoderError.self) { try Fixture.encoder { $0.batchSize = 0 } }
    }

    /// The GEMM path for many queries ranks as the single-query loop does, across corpus
    /// blocks, with scores equal up to float rounding.
    @Test func batchedSearchMatchesOneQueryAtATime() {
        var generator = SystemRandomNumberGenerator()
        let dimension = 24
        let corpus = Embeddings(rows: 9000, dimension: dimension, values: (0 ..< 9000 * dimension).map { _ in Float.random(in: -1 ... 1, using: &generator) })
        let queries = Embeddings(rows: 37, dimension: dimension, values: (0 ..< 37 * dimension).map { _ in Float.random(in: -1 ... 1, using: &generator) })
        let search = InnerProductSearch(corpus: corpus)
        let batched = search.topK(queries: queries, k: 10, context: ComputeContext(threadCount: 2))
        #expect(batched.count == queries.rows)
        for query in 0 ..< queries.rows {
            let single = search.topK(queries.row(query), k: 10)
            #expect(batched[query].map(\.row) == single.map(\.row), "query \(query)")
            let difference = zip(batched[query], single).map { abs($0.score - $1.score) }.max() ?? 0
            #expect(difference <= 1e-5, "query \(query): scores differ by \(difference)")
        }
        let empty = search.topK(queries: queries, k: 0)
        #expect(empty.count == queries.rows)
        #expect(empty.allSatisfy { $0.isEmpty })
    }

    @Test func searchRanksByInnerProductWithStableTies() {
        let corpus = Embeddings(rows: 4, dimension: 2, values: [1, 0, 0, 1, 0.6, 0.8, 1, 0])
        let hits = InnerProductSearch(corpus: corpus).topK([1, 0], k: 3)
        #expect(hits.map(\.row) == [0, 3, 2])
        #expect(hits.map(\.score) == [1, 1, 0.6])
        #expect(InnerProductSearch(corpus: corpus).topK([0, 1], k: 10).map(\.row) == [1, 2, 0, 3])
        #expect(InnerProductSearch(corpus: corpus).topK([0, 1], k: 0).isEmpty)
    }
}

/// A list that threads can append to; tests read it after the work is done.
final class LockedList<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Element] = []

    func append(_ element: Element) {
        lock.withLock { storage.append(element) }
    }

    var values: [Element] {
        lock.withLock { storage }
    }
}

extension Array where Element == Float {
    /// This vector as a one-row embeddings matrix.
    var asEmbeddings: Embeddings {
        Embeddings(rows: 1, dimension: count, values: self)
    }
}
