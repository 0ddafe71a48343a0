import Foundation
import MMRet

/// `mmret search`: ranks a corpus against one text, image or composed query by exact inner
/// product and prints rank, score and id, best first, one tab-separated line each.
///
/// The corpus is encoded on the spot from `--corpus`, or loaded from `--corpus-embeddings`
/// (written earlier by `mmret encode` from the same `--corpus` file, which then supplies the ids).
enum SearchCommand {
    static func run(_ arguments: [String]) throws {
        let options = try CommandLineArguments(
            command: "search", arguments: arguments,
            valueOptions: EncodeCommand.valueOptions.subtracting(["type", "input", "output"]).union([
                "corpus", "corpus-embeddings", "corpus-type", "query-text", "query-image", "top-k", "id-field", "show-field",
            ]),
            flagNames: ["quiet", "apply-exif-orientation", "skip-invalid"]
        )
        let modelDirectory = try options.directory("model")
        let imageDirectory = options.optional("image-dir") != nil ? try options.directory("image-dir") : nil
        let corpusURL = URL(fileURLWithPath: try options.required("corpus"))
        let topK = try options.integer("top-k", default: 10, maximum: 1_000_000)
        let quiet = options.flag("quiet")
        let corpusType: EncodingType
        do {
            corpusType = try EncodingType(name: options.optional("corpus-type") ?? "image")
        } catch {
            throw CommandLineError("--corpus-type: \(error.description)")
        }

        // The query's type follows from what it has: a text, an image, or both.
        let queryText = options.optional("query-text")
        let queryImage = options.optional("query-image").map { path in
            // A query image that exists relative to the working directory is taken from
            // there; otherwise it is an id under --image-dir, like the corpus images.
            FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path).standardizedFileURL.path : path
        }
        let queryType: EncodingType
        switch (queryText, queryImage) {
        case (.some, .some): queryType = .composed
        case (.some, nil): queryType = .text
        case (nil, .some): queryType = .image
        case (nil, nil): throw CommandLineError("'search' needs --query-text, --query-image or both (a composed query)")
        }

        var encoderOptions = try EncodeCommand.makeEncoderOptions(options, imageDirectory: imageDirectory, composed: queryType == .composed)
        if quiet {
            encoderOptions.warningHandler = { _ in }
        }
        let corpus = try EncodeInputs.read(
            jsonLines: corpusURL, type: corpusType,
            textField: options.optional("text-field") ?? "text",
            imageField: options.optional("image-field") ?? "image",
            idField: options.optional("id-field") ?? "id", shownField: options.optional("show-field"),
            skipInvalid: false, report: printDiagnostic
        )
        let encoder = try MMRetEncoder(modelDirectory: modelDirectory, options: encoderOptions)

        let corpusEmbeddings: Embeddings
        do {
            if let path = options.optional("corpus-embeddings") {
                corpusEmbeddings = try Embeddings(npyAt: URL(fileURLWithPath: path))
                guard corpusEmbeddings.rows == corpus.count else {
                    throw InputError("\(path) has \(corpusEmbeddings.rows) rows but \(corpusURL.path) has \(corpus.count) records; encode the corpus file again")
                }
                guard corpusEmbeddings.dimension == encoder.dimension else {
                    throw InputError("\(path) holds \(corpusEmbeddings.dimension)-value rows but this model makes \(encoder.dimension); was it encoded with another model?")
                }
            } else {
                let progress = quiet ? nil : ProgressReporter(total: corpus.count, label: "corpus inputs")
                var embeddings = Embeddings(dimension: encoder.dimension)
                try encoder.encode(type: corpusType, texts: corpus.texts, imageIDs: corpus.imageIDs, progress: { progress?.update($0) }) {
                    embeddings.append($0.embeddings)
                }
                progress?.finish()
                corpusEmbeddings = embeddings
            }
        } catch let error as EncoderError {
            throw InputError(EncodeCommand.describe(error, inputs: corpus))
        }

        let query: [Float]
        do {
            switch queryType {
            case .text: query = try encoder.encodeText(queryText!)
            case .image: query = try encoder.encodeImage(queryImage!)
            case .composed: query = try encoder.encodeComposed(caption: queryText!, imageID: queryImage!)
            }
        } catch let error as EncoderError {
            throw InputError("query: \(error.description)")
        }

        let hits = InnerProductSearch(corpus: corpusEmbeddings).topK(query, k: topK)
        var output = ""
        for (rank, hit) in hits.enumerated() {
            output += "\(rank + 1)\t\(String(format: "%.4f", hit.score))\t\(corpus.displayID(of: hit.row))"
            if options.optional("show-field") != nil {
                output += "\t" + (corpus.shownValues[hit.row] ?? "")
            }
            output += "\n"
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}
