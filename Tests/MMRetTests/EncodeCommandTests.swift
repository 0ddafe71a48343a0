import Foundation
import Testing
@testable import MMRet

/// `mmret encode` and `mmret search` through the binary, on the end-to-end fixture.
struct EncodeCommandTests {
    typealias Fixture = EncoderTests.Fixture

    static let model = Fixture.modelDirectory.path
    static let images = Fixture.imageDirectory.path

    static func input(_ name: String) -> String {
        Fixture.inputDirectory.appendingPathComponent(name).path
    }

    /// Runs `mmret encode` with `arguments` plus the model and image directory.
    static func encode(_ arguments: [String]) throws -> CommandRun {
        try CommandRun(["encode", "--model", model, "--image-dir", images] + arguments)
    }

    @Test(arguments: [
        ("text", "texts.jsonl", "text"),
        ("image", "images.jsonl", "image"),
        ("mm_it", "composed.jsonl", "composed"),
    ])
    func encodeWritesReferenceEmbeddingsForEachType(type: String, input: String, reference: String) throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.npy")
        let run = try Self.encode(["--type", type, "--input", Self.input(input), "--output", output.path, "--batch-size", "4"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("wrote"))
        let embeddings = try Embeddings(npyAt: output)
        EncoderTests.expectMatches(embeddings, try Fixture().expected(reference), "mmret encode --type \(type)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.npy"])
    }

    @Test func encodeWithoutNormalizationWritesRawFeatures() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("raw.npy")
        let run = try Self.encode([
            "--type", "text", "--input", Self.input("texts.jsonl"), "--output", output.path, "--no-normalize", "--quiet",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty, "--quiet printed: \(run.stderr)")
        EncoderTests.expectMatches(try Embeddings(npyAt: output), try Fixture().expected("text_raw"), "raw text")
    }

    /// With no --input, every image under --image-dir is encoded in path order and the ids
    /// are written beside the output.
    @Test func encodeReadsAWholeImageFolder() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("corpus.npy")
        let run = try Self.encode(["--type", "image", "--output", output.path, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")

        let ids = try String(contentsOf: directory.appendingPathComponent("corpus.ids.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let fixture = try Fixture()
        #expect(ids == fixture.imageIDs.sorted())
        let expected = try fixture.expected("image")
        let embeddings = try Embeddings(npyAt: output)
        for (row, id) in ids.enumerated() {
            let referenceRow = try #require(fixture.imageIDs.firstIndex(of: id))
            EncoderTests.expectMatches(embeddings.row(row).asEmbeddings, expected.row(referenceRow).asEmbeddings, "folder image \(id)")
        }

        // search finds the ids beside saved embeddings, or scans the folder itself.
        let query = ["--query-image", "palette.png", "--top-k", "2", "--quiet"]
        let fromSaved = try CommandRun(["search", "--model", Self.model, "--image-dir", Self.images, "--corpus-embeddings", output.path] + query)
        let fromFolder = try CommandRun(["search", "--model", Self.model, "--image-dir", Self.images] + query)
        #expect(fromSaved.status == 0 && fromFolder.status == 0, "\(fromSaved.stderr) \(fromFolder.stderr)")
        #expect(fromSaved.stdout.hasPrefix("1\t1.0000\tpalette.png\n"), "\(fromSaved.stdout)")
        #expect(fromFolder.stdout == fromSaved.stdout)
    }

    /// A folder scan follows symbolic links to image files, skips other files, and rejects
    /// a folder without images instead of writing an empty matrix.
    @Test func folderScanFollowsLinksAndRejectsEmptyFolders() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let images = directory.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: images.appendingPathComponent("linked.jpg"), withDestinationURL: Fixture.imageDirectory.appendingPathComponent("gradient.jpg")
        )
        try Data("notes".utf8).write(to: images.appendingPathComponent("notes.txt"))
        let output = directory.appendingPathComponent("linked.npy")
        let run = try CommandRun([
            "encode", "--model", Self.model, "--image-dir", images.path, "--type", "image", "--output", output.path, "--quiet",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOf: directory.appendingPathComponent("linked.ids.txt"), encoding: .utf8) == "linked.jpg\n")
        EncoderTests.expectMatches(try Embeddings(npyAt: output), try Fixture().expected("image").row(0).asEmbeddings, "linked image")

        let empty = directory.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let emptyRun = try CommandRun([
            "encode", "--model", Self.model, "--image-dir", empty.path, "--type", "image", "--output", directory.appendingPathComponent("none.npy").path,
        ])
        #expect(emptyRun.status == 1)
        #expect(emptyRun.stderr.contains("no image files"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("none.npy").path))
    }

    /// A rerun to the same output removes the ids file of an earlier folder encode, because
    /// it would label the new rows. An image folder that is a link is followed, and a single
    /// search writes to --output when given.
    @Test func rerunsLinksAndSearchOutput() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let link = directory.appendingPathComponent("linked-images")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: Fixture.imageDirectory)
        let output = directory.appendingPathComponent("a.npy")
        let idsFile = directory.appendingPathComponent("a.ids.txt")

        let folder = try CommandRun(["encode", "--model", Self.model, "--image-dir", link.path, "--type", "image", "--output", output.path, "--quiet"])
        #expect(folder.status == 0, "\(folder.stderr)")
        #expect(try String(contentsOf: idsFile, encoding: .utf8).split(separator: "\n").count == 6)

        let fromFile = try Self.encode(["--type", "image", "--input", Self.input("images.jsonl"), "--output", output.path, "--quiet"])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(!FileManager.default.fileExists(atPath: idsFile.path), "a stale ids file survived the rerun")

        let results = directory.appendingPathComponent("hits.tsv")
        let search = try CommandRun([
            "search", "--model", Self.model, "--image-dir", link.path, "--query-image", "palette.png", "--top-k", "1", "--output", results.path, "--quiet",
        ])
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.stdout.isEmpty)
        #expect(try String(contentsOf: results, encoding: .utf8) == "1\t1.0000\tpalette.png\n")
    }

    /// Each bad input ends the run with an error naming the file and line, exit status 1,
    /// and no output file.
    @Test(arguments: [
        ("{\"image\": \"gradient.jpg\"}\n{\"image\": \"nowhere.jpg\"}\n", "image", "input.jsonl:2: image 'nowhere.jpg' not found"),
        ("{\"image\": \"gradient.jpg\"}\n{\"image\": \"corrupt.jpg\"}\n", "image", "input.jsonl:2: image 'corrupt.jpg'"),
        ("{\"text\": \"a\"}\n{\"caption\": \"b\"}\n", "text", "input.jsonl:2: missing field 'text' (the line has 'caption'); name the field with --text-field"),
        ("{\"text\": \"a\", \"image\": \"gradient.jpg\"}\n{\"text\": \"b\"}\n", "mm_it", "input.jsonl:2: missing field 'image'"),
        ("{\"text\": \"a\"}\n{\"text\": \"b\"\n", "text", "input.jsonl:2: invalid JSON"),
    ])
    func badInputFailsWithoutOutput(lines: String, type: String, message: String) throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let imageDirectory = directory.appendingPathComponent("images")
        try FileManager.default.copyItem(at: Fixture.imageDirectory, to: imageDirectory)
        try Data("garbage".utf8).write(to: imageDirectory.appendingPathComponent("corrupt.jpg"))
        let input = directory.appendingPathComponent("input.jsonl")
        try Data(lines.utf8).write(to: input)
        let output = directory.appendingPathComponent("out.npy")

        let run = try CommandRun([
            "encode", "--model", Self.model, "--image-dir", imageDirectory.path, "--type", type,
            "--input", input.path, "--output", output.path, "--batch-size", "1",
        ])
        #expect(run.status == 1)
        #expect(run.stderr.contains(message), "stderr: \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["images", "input.jsonl"])
    }

    /// Ctrl-C (SIGINT) stops a run with status 130 and deletes the unfinished output file.
    @Test func interruptedRunLeavesNoFiles() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let images = directory.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let source = Fixture.imageDirectory.appendingPathComponent("jpeg-inside.png")
        for index in 0 ..< 20_000 {
            try FileManager.default.createSymbolicLink(at: images.appendingPathComponent("\(index).png"), withDestinationURL: source)
        }
        let outputDirectory = directory.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)

        let process = Process()
        process.executableURL = CommandRun.binary
        process.arguments = [
            "encode", "--model", Self.model, "--image-dir", images.path, "--type", "image",
            "--output", outputDirectory.appendingPathComponent("all.npy").path, "--batch-size", "1", "--threads", "1", "--quiet",
        ]
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()

        // Wait until rows are being written, then interrupt.
        let deadline = Date().addingTimeInterval(60)
        while try FileManager.default.contentsOfDirectory(atPath: outputDirectory.path).isEmpty, process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(process.isRunning, "the run ended before it could be interrupted")
        process.interrupt()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        #expect(process.terminationStatus == 130)
        #expect(message.contains("stopped by signal 2; removed 1 unfinished output file"), "\(message)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outputDirectory.path).isEmpty)
    }

    @Test func unknownTypeIsAUsageError() throws {
        let run = try Self.encode(["--type", "video", "--input", Self.input("texts.jsonl"), "--output", "/tmp/never.npy"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("unknown input type 'video'; use one of text, image, mm_it"))
    }

    /// --skip-invalid keeps going past bad lines, reports each, and records which input
    /// line every output row came from.
    @Test func skipInvalidKeepsGoodLinesAndRecordsTheirLineNumbers() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("input.jsonl")
        try Data("""
            {"image": "gradient.jpg"}
            {"image": "missing.jpg"}
            not json
            {"picture": "grey.jpg"}
            {"image": "sub/stripes.jpg"}

            """.utf8).write(to: input)
        let output = directory.appendingPathComponent("kept.npy")
        let run = try Self.encode(["--type", "image", "--input", input.path, "--output", output.path, "--skip-invalid"])
        #expect(run.status == 0, "\(run.stderr)")
        for line in 2 ... 4 {
            #expect(run.stderr.contains("skipped \(input.path):\(line):"), "line \(line) not reported: \(run.stderr)")
        }
        #expect(run.stderr.contains("(3 lines skipped)"), "\(run.stderr)")
        let lines = try String(contentsOf: directory.appendingPathComponent("kept.lines.txt"), encoding: .utf8)
        #expect(lines == "1\n5\n")

        // search pairs those rows with the kept lines of the same corpus file.
        let search = try CommandRun([
            "search", "--model", Self.model, "--image-dir", Self.images, "--corpus", input.path,
            "--corpus-embeddings", output.path, "--query-image", "sub/stripes.jpg", "--top-k", "1", "--quiet",
        ])
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.stdout == "1\t1.0000\tsub/stripes.jpg\n", "\(search.stdout)")
        let fixture = try Fixture()
        let expected = try fixture.expected("image")
        EncoderTests.expectMatches(try Embeddings(npyAt: output), Embeddings(rows: 2, dimension: expected.dimension, values: expected.row(0) + expected.row(5)), "kept rows")
    }

    @Test func searchRanksTheCorpusForEachQueryType() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = Self.input("images.jsonl")
        let fixture = try Fixture()
        let images = try fixture.expected("image")

        /// Returns the corpus ids ranked by inner product with `query`, as the reference's flat
        /// index ranks them.
        func expectedRanking(_ query: [Float]) -> [String] {
            let scores = (0 ..< images.rows).map { row in zip(images.row(row), query).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
            return scores.indices.sorted { scores[$0] > scores[$1] }.map { fixture.imageIDs[$0] }
        }
        func rankedIDs(_ run: CommandRun) -> [String] {
            run.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[2]) }
        }

        let textRun = try CommandRun([
            "search", "--model", Self.model, "--image-dir", Self.images, "--corpus", corpus, "--query-text", fixture.texts[0], "--top-k", "6", "--quiet",
        ])
        #expect(textRun.status == 0, "\(textRun.stderr)")
        #expect(rankedIDs(textRun) == expectedRanking(try fixture.expected("text").row(0)))
        let firstLine = textRun.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(firstLine.hasPrefix("1\t"))

        let imageRun = try CommandRun([
            "search", "--model", Self.model, "--image-dir", Self.images, "--corpus", corpus, "--query-image", "portrait.png", "--top-k", "1", "--quiet",
        ])
        #expect(imageRun.status == 0, "\(imageRun.stderr)")
        #expect(rankedIDs(imageRun) == ["portrait.png"])
        #expect(imageRun.stdout.hasPrefix("1\t1.0000\tportrait.png"))

        // A composed query against embeddings saved by `encode`, which gives the same ranking.
        let saved = directory.appendingPathComponent("corpus.npy")
        let encodeRun = try Self.encode(["--type", "image", "--input", corpus, "--output", saved.path, "--quiet"])
        #expect(encodeRun.status == 0, "\(encodeRun.stderr)")
        let composedArguments = [
            "search", "--model", Self.model, "--image-dir", Self.images, "--corpus", corpus,
            "--query-text", fixture.composed.captions[0], "--query-image", fixture.composed.imageIDs[0], "--quiet",
        ]
        let fresh = try CommandRun(composedArguments)
        let reloaded = try CommandRun(composedArguments + ["--corpus-embeddings", saved.path])
        #expect(fresh.status == 0 && reloaded.status == 0, "\(fresh.stderr) \(reloaded.stderr)")
        #expect(rankedIDs(fresh) == expectedRanking(try fixture.expected("composed").row(0)))
        #expect(rankedIDs(reloaded) == rankedIDs(fresh))
    }

    /// A query file gives one JSON entry per query, keyed by line number without an id
    /// field, with the corpus ids in the order of the reference embeddings' scores.
    @Test func searchWritesTopIDsOfAQueryFile() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("results.json")
        let run = try CommandRun([
            "search", "--model", Self.model, "--image-dir", Self.images, "--corpus", Self.input("images.jsonl"),
            "--queries", Self.input("composed.jsonl"), "--top-k", "3", "--output", output.path, "--quiet",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let results = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: [String]])

        let fixture = try Fixture()
        let images = try fixture.expected("image")
        let queries = try fixture.expected("composed")
        #expect(results.count == queries.rows)
        for query in 0 ..< queries.rows {
            let scores = (0 ..< images.rows).map { row in zip(images.row(row), queries.row(query)).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
            let expected = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(3).map { fixture.imageIDs[$0] }
            #expect(results[String(query + 1)] == expected, "query on line \(query + 1)")
        }
    }

    /// Mistakes in the query or the corpus are reported before any corpus encoding.
    @Test func searchReportsBadQueriesAndCorporaFirst() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }

        let missingQuery = try CommandRun(["search", "--model", Self.model, "--image-dir", Self.images, "--query-image", "nothere.jpg"])
        #expect(missingQuery.status == 1)
        #expect(missingQuery.stderr.contains("query: image 'nothere.jpg' not found"), "\(missingQuery.stderr)")
        #expect(!missingQuery.stderr.contains("corpus images"), "the corpus was encoded first: \(missingQuery.stderr)")

        let badQueries = directory.appendingPathComponent("queries.jsonl")
        try Data("{\"text\": \"a\", \"image\": \"gradient.jpg\"}\nnot json\n".utf8).write(to: badQueries)
        let badFile = try CommandRun(["search", "--model", Self.model, "--image-dir", Self.images, "--queries", badQueries.path])
        #expect(badFile.status == 1)
        #expect(badFile.stderr.contains("queries.jsonl:2: invalid JSON"), "\(badFile.stderr)")
        #expect(!badFile.stderr.contains("corpus images"))

        let empty = directory.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let emptyCorpus = try CommandRun(["search", "--model", Self.model, "--image-dir", empty.path, "--query-text", "a dog"])
        #expect(emptyCorpus.status == 1)
        #expect(emptyCorpus.stderr.contains("has no entries to search"), "\(emptyCorpus.stderr)")

        let missingEmbeddings = try CommandRun([
            "search", "--model", Self.model, "--image-dir", Self.images, "--corpus-embeddings", directory.appendingPathComponent("none.npy").path,
            "--query-text", "a dog",
        ])
        #expect(missingEmbeddings.status == 1)
        #expect(missingEmbeddings.stderr.contains("none.npy: no such file"), "\(missingEmbeddings.stderr)")
    }

    @Test func searchChecksSavedEmbeddingsAgainstTheCorpus() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let saved = directory.appendingPathComponent("wrong.npy")
        try NPY.write([Float](repeating: 0, count: 3 * 8), shape: [3, 8], to: saved)
        let run = try CommandRun([
            "search", "--model", Self.model, "--image-dir", Self.images, "--corpus", Self.input("images.jsonl"),
            "--corpus-embeddings", saved.path, "--query-text", "a cat",
        ])
        #expect(run.status == 1)
        #expect(run.stderr.contains("has 3 rows but"), "\(run.stderr)")

        let noIDs = try CommandRun(["search", "--model", Self.model, "--corpus-embeddings", saved.path, "--query-text", "a cat"])
        #expect(noIDs.status == 2)
        #expect(noIDs.stderr.contains("needs --corpus FILE.jsonl for the ids"), "\(noIDs.stderr)")

        let noQuery = try CommandRun(["search", "--model", Self.model, "--corpus", Self.input("images.jsonl")])
        #expect(noQuery.status == 2)
        #expect(noQuery.stderr.contains("needs --query-text, --query-image or both"))
    }
}
