import Foundation
import MMRet

/// `mmret search`: ranks a corpus by exact inner product against one query and prints rank,
/// score and id per line, best first. With a query file, it ranks the corpus for every line
/// and writes the top ids of each query as one JSON object.
///
/// The corpus is encoded on the spot from `--corpus`, or loaded from `--corpus-embeddings`
/// (written earlier by `mmret encode` from the same `--corpus` file, which then supplies the ids).
enum SearchCommand {
    static func run(_ arguments: [String]) throws {
        let options = try CommandLineArguments(
            command: "search", arguments: arguments,
            valueOptions: EncodeCommand.valueOptions.subtracting(["type", "input"]).union([
                "corpus", "corpus-embeddings", "corpus-type", "query-text", "query-image", "top-k", "id-field",
                "show-field", "queries", "query-type", "query-text-field", "query-image-field",
            ]),
            flagNames: ["quiet", "exif-orientation"]
        )
        let modelDirectory = try options.directory("model")
        let imageDirectory = options.optional("image-dir") != nil ? try options.directory("image-dir") : nil
        let quiet = options.flag("quiet")
        var encoderOptions = try EncodeCommand.makeEncoderOptions(options, imageDirectory: imageDirectory)
        if quiet {
            encoderOptions.warningHandler = { _ in }
        }

        if let queriesPath = options.optional("queries") {
            guard options.optional("query-text") == nil, options.optional("query-image") == nil else {
                throw CommandLineError("give either --queries FILE.jsonl or --query-text/--query-image, not both")
            }
            guard options.optional("show-field") == nil else {
                throw CommandLineError("--show-field applies to a single query; --queries writes ids only")
            }
            let encoder = try MMRetEncoder(modelDirectory: modelDirectory, options: encoderOptions)
            try searchQueryFile(URL(fileURLWithPath: queriesPath), options: options, encoder: encoder, quiet: quiet)
            return
        }

        // A single query's type follows from what it has: a text, an image, or both.
        let queryText = options.optional("query-text")
        let queryImage = options.optional("query-image").map { path in
            // Like a corpus image, a query image is an id under --image-dir; a path that
            // exists only from the working directory is taken from there.
            let underImageDirectory = imageDirectory.map { $0.appendingPathComponent(path).path }
            if let underImageDirectory, FileManager.default.fileExists(atPath: underImageDirectory) {
                return path
            }
            return FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path).standardizedFileURL.path : path
        }
        guard queryText != nil || queryImage != nil else {
            throw CommandLineError("'search' needs --query-text, --query-image or both (a composed query), or --queries FILE.jsonl")
        }
        let topK = try options.integer("top-k", default: 10, maximum: 1_000_000)
        let encoder = try MMRetEncoder(modelDirectory: modelDirectory, options: encoderOptions)

        // The query goes first, so a mistake in it shows before a long corpus encode.
        let query: [Float]
        do {
            if let queryText, let queryImage {
                query = try encoder.encodeComposed(caption: queryText, imageID: queryImage)
            } else if let queryText {
                query = try encoder.encodeText(queryText)
            } else {
                query = try encoder.encodeImage(queryImage!)
            }
        } catch let error as EncoderError {
            throw InputError("query: \(error.description)")
        }
        let corpus = try loadCorpus(options, encoder: encoder, quiet: quiet)

        let showsField = options.optional("show-field") != nil
        let hits = InnerProductSearch(corpus: corpus.embeddings).topK(query, k: topK)
        var output = ""
        for (rank, hit) in hits.enumerated() {
            output += "\(rank + 1)\t\(String(format: "%.4f", hit.score))\t\(corpus.inputs.displayID(of: hit.row))"
            if showsField {
                output += "\t" + (corpus.inputs.shownValues[hit.row] ?? "")
            }
            output += "\n"
        }
        if let outputPath = options.optional("output") {
            do {
                try Data(output.utf8).write(to: URL(fileURLWithPath: outputPath), options: .atomic)
            } catch {
                throw InputError("cannot write \(outputPath): \(error.localizedDescription)")
            }
        } else {
            FileHandle.standardOutput.write(Data(output.utf8))
        }
    }

    /// Returns the corpus with its embeddings. The corpus is `--corpus` (a JSON Lines file),
    /// else the ids that `mmret encode` wrote beside `--corpus-embeddings`, else every image
    /// under `--image-dir`. Embeddings are loaded from `--corpus-embeddings` after checking
    /// that they fit the corpus and the model, or else encoded now.
    static func loadCorpus(
        _ options: CommandLineArguments, encoder: MMRetEncoder, quiet: Bool
    ) throws -> (inputs: EncodeInputs, embeddings: Embeddings) {
        let corpusType = try EncodeCommand.encodingType(options, "corpus-type", default: "image")
        let corpus: EncodeInputs
        let corpusSource: String
        if let corpusPath = options.optional("corpus") {
            // Embeddings written with --skip-invalid cover only the lines listed beside them,
            // so the other lines of the corpus file may be invalid.
            let keptLines = options.optional("corpus-embeddings").flatMap { path -> (lines: [Int], listPath: String)? in
                let linesURL = sidecarURL(for: URL(fileURLWithPath: path), suffix: "lines.txt")
                guard let text = try? String(contentsOf: linesURL, encoding: .utf8) else { return nil }
                return (text.split(separator: "\n").compactMap { Int($0) }, linesURL.path)
            }
            let records = try EncodeInputs.read(
                jsonLines: URL(fileURLWithPath: corpusPath), type: corpusType,
                textField: options.optional("text-field") ?? "text",
                imageField: options.optional("image-field") ?? "image",
                idField: options.optional("id-field") ?? "id", shownField: options.optional("show-field"),
                skipInvalid: keptLines != nil, report: { _ in }
            )
            corpus = try keptLines.map { try records.keepingLines($0.lines, listedIn: $0.listPath) } ?? records
            corpusSource = corpusPath
        } else if let embeddingsPath = options.optional("corpus-embeddings") {
            guard FileManager.default.fileExists(atPath: embeddingsPath) else {
                throw InputError("--corpus-embeddings \(embeddingsPath): no such file; write it with 'mmret encode'")
            }
            let idsURL = sidecarURL(for: URL(fileURLWithPath: embeddingsPath), suffix: "ids.txt")
            guard let text = try? String(contentsOf: idsURL, encoding: .utf8) else {
                throw CommandLineError("'search' needs --corpus FILE.jsonl for the ids of \(embeddingsPath), or the \(idsURL.path) that 'mmret encode' writes for a folder")
            }
            corpus = EncodeInputs(imageList: text.split(separator: "\n").map(String.init), source: idsURL.path)
            corpusSource = idsURL.path
        } else if corpusType == .image, let imageDirectory = options.optional("image-dir") {
            corpus = try EncodeInputs.scan(imageDirectory: URL(fileURLWithPath: imageDirectory))
            corpusSource = imageDirectory
        } else {
            throw CommandLineError("'search' needs --corpus FILE.jsonl, --corpus-embeddings E.npy, or an --image-dir to search")
        }

        guard corpus.count > 0 else {
            throw InputError("the corpus \(corpusSource) has no entries to search")
        }
        if let path = options.optional("corpus-embeddings") {
            let embeddings = try Embeddings(npyAt: URL(fileURLWithPath: path))
            guard embeddings.rows == corpus.count else {
                throw InputError("\(path) has \(embeddings.rows) rows but \(corpusSource) has \(corpus.count) entries; encode the corpus again")
            }
            guard embeddings.dimension == encoder.dimension else {
                throw InputError("\(path) has rows of \(embeddings.dimension) values but this model makes \(encoder.dimension); encode the corpus again with this model")
            }
            return (corpus, embeddings)
        }

        let label = "corpus \(EncodeCommand.unit(of: corpusType))"
        return (corpus, try encodeAll(corpus, type: corpusType, encoder: encoder, label: label, quiet: quiet))
    }

    /// Encodes every input with a progress display, turning an encoder error into one that
    /// names the input's file and line.
    static func encodeAll(
        _ inputs: EncodeInputs, type: EncodingType, encoder: MMRetEncoder, label: String, quiet: Bool
    ) throws -> Embeddings {
        let progress = quiet ? nil : ProgressReporter(total: inputs.count, label: label)
        var embeddings = Embeddings(dimension: encoder.dimension)
        do {
            try encoder.encode(type: type, texts: inputs.texts, imageIDs: inputs.imageIDs, progress: { progress?.update($0) }) {
                embeddings.append($0.embeddings)
            }
        } catch let error as EncoderError {
            throw InputError(EncodeCommand.describe(error, inputs: inputs))
        }
        progress?.finish()
        return embeddings
    }

    /// Ranks the corpus for every query of a JSON Lines file and writes
    /// `{"query id": ["corpus id", ...], ...}` in query order, to `--output` or stdout.
    /// A query's id is its `--id-field` value, else its line number.
    static func searchQueryFile(_ url: URL, options: CommandLineArguments, encoder: MMRetEncoder, quiet: Bool) throws {
        let queryType = try EncodeCommand.encodingType(options, "query-type", default: "mm_it")
        let queries = try EncodeInputs.read(
            jsonLines: url, type: queryType,
            textField: options.optional("query-text-field") ?? "text",
            imageField: options.optional("query-image-field") ?? "image",
            idField: options.optional("id-field") ?? "id",
            skipInvalid: false, report: printDiagnostic
        )
        let topK = try options.integer("top-k", default: 50, maximum: 1_000_000)

        // The queries are encoded before the corpus, so a bad query line shows before a
        // long corpus encode.
        let queryEmbeddings = try encodeAll(queries, type: queryType, encoder: encoder, label: "queries", quiet: quiet)

        let corpus = try loadCorpus(options, encoder: encoder, quiet: quiet)
        let search = InnerProductSearch(corpus: corpus.embeddings)
        let rankings = search.topK(queries: queryEmbeddings, k: topK)
        var entries: [String] = []
        for index in 0 ..< queryEmbeddings.rows {
            let ids = rankings[index].map { jsonString(corpus.inputs.displayID(of: $0.row)) }
            let queryID = queries.recordIDs[index] ?? String(queries.lineNumbers[index])
            entries.append("  \(jsonString(queryID)): [\(ids.joined(separator: ", "))]")
        }

        let json = "{\n" + entries.joined(separator: ",\n") + "\n}\n"
        if let outputPath = options.optional("output") {
            do {
                try Data(json.utf8).write(to: URL(fileURLWithPath: outputPath), options: .atomic)
            } catch {
                throw InputError("cannot write \(outputPath): \(error.localizedDescription)")
            }
            if !quiet {
                printDiagnostic("wrote the top \(min(topK, corpus.inputs.count)) corpus ids of \(entries.count) queries to \(outputPath)")
            }
        } else {
            FileHandle.standardOutput.write(Data(json.utf8))
        }
    }

    /// Returns `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
