import Foundation
import MMRet

/// `mmret preprocess`: writes the CLIP pixel_values of the images a JSON Lines file lists
/// to a float32 .npy file of shape N x 3 x H x W.
///
/// Images are decoded in batches across all cores and written in input order. The first
/// image that fails stops the run; the writer then leaves no output file.
enum PreprocessCommand {
    /// Images decoded together before their values are written.
    static let batchSize = 64

    static func run(_ arguments: [String]) throws {
        let options = try CommandLineArguments(
            command: "preprocess", arguments: arguments,
            valueOptions: ["model", "image-dir", "input", "image-field", "output", "max-pixels"],
            flagNames: ["exif-orientation"]
        )
        let modelDirectory = try options.directory("model")
        let imageDirectory = try options.directory("image-dir")
        let inputPath = try options.required("input")
        let outputPath = try options.required("output")
        let imageField = options.optional("image-field") ?? "image"
        let maximumPixelCount = try options.integer(
            "max-pixels", default: ImageDecodingOptions.defaultMaximumPixelCount, maximum: Int.max
        )
        let decoding = ImageDecodingOptions(
            maximumPixelCount: maximumPixelCount, appliesEXIFOrientation: options.flag("exif-orientation")
        )

        let preprocessor = try ImagePreprocessor(modelDirectory: modelDirectory, options: decoding)
        let imageIDs = try JSONLines.readStrings(at: URL(fileURLWithPath: inputPath), field: imageField)
        let files = imageIDs.map { imageDirectory.appendingPathComponent($0) }
        let writer = try NPYStreamWriter(
            url: URL(fileURLWithPath: outputPath),
            trailingShape: [preprocessor.channels, preprocessor.height, preprocessor.width]
        )

        var values = [Float](repeating: 0, count: batchSize * preprocessor.valuesPerImage)
        for batchStart in stride(from: 0, to: files.count, by: batchSize) {
            let batch = Array(files[batchStart..<min(batchStart + batchSize, files.count)])
            let errors = values.withUnsafeMutableBufferPointer { buffer in
                preprocessBatch(batch, preprocessor: preprocessor, into: buffer)
            }
            if let (index, error) = errors.enumerated().first(where: { $0.element != nil }).map({ ($0.offset, $0.element!) }) {
                throw CommandLineFailure("line \(batchStart + index + 1) of \(inputPath): \(error)")
            }
            try values.withUnsafeBufferPointer { buffer in
                try writer.append(UnsafeBufferPointer(rebasing: buffer[0..<(batch.count * preprocessor.valuesPerImage)]))
            }
        }
        try writer.finish(expectedRows: files.count)
        printDiagnostic("wrote \(files.count) images of 3x\(preprocessor.height)x\(preprocessor.width) to \(outputPath)")
    }

    /// Preprocesses `files` in parallel into consecutive slots of `buffer`; returns each file's error.
    static func preprocessBatch(
        _ files: [URL], preprocessor: ImagePreprocessor, into buffer: UnsafeMutableBufferPointer<Float>
    ) -> [ImageError?] {
        let count = preprocessor.valuesPerImage
        let errors = ErrorSlots(count: files.count)
        nonisolated(unsafe) let destination = buffer
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            // Each iteration writes only its own slice of the buffer and its own error slot.
            let slice = UnsafeMutableBufferPointer(rebasing: destination[(index * count)..<((index + 1) * count)])
            do throws(ImageError) {
                try preprocessor.preprocess(fileAt: files[index], into: slice)
            } catch {
                errors.set(index, error)
            }
        }
        return errors.values
    }
}

/// Per-index error storage shared by the parallel iterations.
private final class ErrorSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [ImageError?]

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func set(_ index: Int, _ error: ImageError) {
        lock.lock()
        slots[index] = error
        lock.unlock()
    }

    var values: [ImageError?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}

/// A runtime failure (exit status 1) whose message is printed as it is.
struct CommandLineFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
