import Foundation
import MMRet

/// `mmret encode`: embeds every line of a JSON Lines file (or every image of a folder) and
/// writes a float32 `.npy` matrix with one row per input, in input order.
///
/// Rows are streamed to a temporary file that is renamed over `--output` only when every
/// input is done, so a failed run leaves no output file.
enum EncodeCommand {
    static let valueOptions: Set<String> = [
        "model", "type", "input", "image-dir", "text-field", "image-field", "output", "batch-size",
        "max-length", "threads", "max-pixels", "precision",
    ]
    static let flagNames: Set<String> = ["no-normalize", "skip-invalid", "quiet", "exif-orientation"]

    static func run(_ arguments: [String]) throws {
        let options = try CommandLineArguments(
            command: "encode", arguments: arguments, valueOptions: valueOptions, flagNames: flagNames
        )
        let modelDirectory = try options.directory("model")
        let type = try encodingType(options, "type", default: nil)
        let output = URL(fileURLWithPath: try options.required("output"))
        let imageDirectory = options.optional("image-dir") != nil ? try options.directory("image-dir") : nil
        let quiet = options.flag("quiet")
        let skipInvalid = options.flag("skip-invalid")
        var encoderOptions = try makeEncoderOptions(options, imageDirectory: imageDirectory)
        encoderOptions.normalized = !options.flag("no-normalize")
        if quiet {
            encoderOptions.warningHandler = { _ in }
        }

        // Inputs: a JSON Lines file, or for images alone every image under --image-dir.
        let inputs: EncodeInputs
        let fromFolder: Bool
        var skippedLines = 0
        if let inputPath = options.optional("input") {
            inputs = try EncodeInputs.read(
                jsonLines: URL(fileURLWithPath: inputPath), type: type,
                textField: options.optional("text-field") ?? "text",
                imageField: options.optional("image-field") ?? "image",
                skipInvalid: skipInvalid
            ) { message in
                skippedLines += 1
                printDiagnostic(message)
            }
            fromFolder = false
        } else if type == .image, let imageDirectory {
            inputs = try EncodeInputs.scan(imageDirectory: imageDirectory)
            guard inputs.count > 0 else {
                throw InputError("no image files (.jpg, .jpeg, .png, .webp, .gif, .bmp) under \(imageDirectory.path)")
            }
            fromFolder = true
        } else {
            throw CommandLineError("'encode' needs --input FILE.jsonl (only --type image can read a whole --image-dir instead)")
        }
        if type != .text && imageDirectory == nil && !quiet {
            printDiagnostic("note: no --image-dir given; image ids are read as paths from the current directory")
        }

        let encoder = try MMRetEncoder(modelDirectory: modelDirectory, options: encoderOptions)
        let writer = try NPYStreamWriter(url: output, trailingShape: [encoder.dimension])
        let progress = quiet ? nil : ProgressReporter(total: inputs.count, label: Self.unit(of: type))
        var keptIndices: [Int] = []
        let skipped = SkippedInputs()

        do {
            try encoder.encode(
                type: type, texts: inputs.texts, imageIDs: inputs.imageIDs,
                invalidInputs: skipInvalid ? .skip { skipped.add($0) } : .stop,
                progress: { progress?.update($0) }
            ) { batch in
                for error in skipped.drain() {
                    printDiagnostic("skipped \(describe(error, inputs: inputs))")
                }
                try writer.append(batch.embeddings.values)
                keptIndices.append(contentsOf: batch.inputIndices)
            }
        } catch let error as EncoderError {
            let hint = error.inputIndex == nil ? "" : " (--skip-invalid skips bad inputs and records which lines were kept)"
            throw InputError(describe(error, inputs: inputs) + hint)
        }
        for error in skipped.drain() {
            printDiagnostic("skipped \(describe(error, inputs: inputs))")
        }
        progress?.finish()

        // The sidecar files go first, so the .npy appears only when everything is there. A
        // sidecar that an earlier run left beside the same output would describe other rows,
        // so the one this run does not write is deleted.
        let idsURL = sidecarURL(for: output, suffix: "ids.txt")
        let linesURL = sidecarURL(for: output, suffix: "lines.txt")
        var sidecars: [URL] = []
        if fromFolder {
            try writeLinesAtomically(keptIndices.map { inputs.imageIDs[$0] }, to: idsURL)
            sidecars.append(idsURL)
        } else if skipInvalid {
            try writeLinesAtomically(keptIndices.map { String(inputs.lineNumbers[$0]) }, to: linesURL)
            sidecars.append(linesURL)
        }
        for stale in [idsURL, linesURL] where !sidecars.contains(stale) {
            try? FileManager.default.removeItem(at: stale)
        }
        do {
            try writer.finish(expectedRows: keptIndices.count)
        } catch {
            for sidecar in sidecars {
                try? FileManager.default.removeItem(at: sidecar)
            }
            throw error
        }

        if !quiet {
            var summary = "wrote \(keptIndices.count) × \(encoder.dimension) float32 embeddings to \(output.path)"
            if skipInvalid {
                summary += " (\(skippedLines + inputs.count - keptIndices.count) lines skipped)"
            }
            if !sidecars.isEmpty {
                summary += "; row sources in " + sidecars.map(\.path).joined(separator: ", ")
            }
            printDiagnostic(summary)
        }
    }

    /// Parses the input type named by `--name`, or `defaultName` when it is absent; nil
    /// makes the option required.
    static func encodingType(_ options: CommandLineArguments, _ name: String, default defaultName: String?) throws -> EncodingType {
        let value = try defaultName.map { options.optional(name) ?? $0 } ?? options.required(name)
        do {
            return try EncodingType(name: value)
        } catch {
            throw CommandLineError("--\(name): \(error.description)")
        }
    }

    /// Returns the plural noun that progress lines count inputs of `type` in.
    static func unit(of type: EncodingType) -> String {
        switch type {
        case .text: "texts"
        case .image: "images"
        case .composed: "queries"
        }
    }

    /// Reads the encoder settings that `encode` and `search` share.
    static func makeEncoderOptions(_ options: CommandLineArguments, imageDirectory: URL?) throws -> EncoderOptions {
        var encoderOptions = EncoderOptions()
        encoderOptions.imageDirectory = imageDirectory
        if let name = options.optional("precision") {
            guard let precision = Precision(rawValue: name) else {
                let known = Precision.allCases.map(\.rawValue).joined(separator: " or ")
                throw CommandLineError("--precision must be \(known), got '\(name)'")
            }
            encoderOptions.precision = precision
        }
        encoderOptions.batchSize = try options.integer("batch-size", default: 32, maximum: 4096)
        encoderOptions.threadCount = options.optional("threads") == nil ? nil : try options.integer("threads", default: 1, maximum: 1024)
        if options.optional("max-length") != nil {
            let maxLength = try options.integer("max-length", default: 77, minimum: 2)
            encoderOptions.textMaxLength = maxLength
            encoderOptions.composedTextMaxLength = maxLength
        }
        encoderOptions.imageDecoding.maximumPixelCount = try options.integer(
            "max-pixels", default: encoderOptions.imageDecoding.maximumPixelCount, maximum: Int.max
        )
        encoderOptions.imageDecoding.appliesEXIFOrientation = options.flag("exif-orientation")
        return encoderOptions
    }

    /// Names the input an encoder error is about by its file and line.
    static func describe(_ error: EncoderError, inputs: EncodeInputs) -> String {
        guard let index = error.inputIndex, index < inputs.count else { return error.description }
        return inputs.lineNumbers.isEmpty ? error.description : "\(inputs.location(of: index)): \(error.description)"
    }
}

/// Collects the errors of skipped inputs, which the encoder reports from its decoding threads.
final class SkippedInputs: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [EncoderError] = []

    func add(_ error: EncoderError) {
        lock.withLock { errors.append(error) }
    }

    /// Returns the errors collected so far, in input order, and clears the list.
    func drain() -> [EncoderError] {
        lock.withLock {
            defer { errors.removeAll() }
            return errors.sorted { ($0.inputIndex ?? 0) < ($1.inputIndex ?? 0) }
        }
    }
}
