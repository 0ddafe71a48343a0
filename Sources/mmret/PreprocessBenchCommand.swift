import Dispatch
import Foundation
import MMRet

/// `mmret bench-preprocess`: measures images per second of decoding and preprocessing the
/// images a JSON Lines file lists, on one thread.
///
/// Files are read from disk in every pass (the page cache keeps them in memory after the first).
/// A pass repeats the list until it covers at least `minimumImagesPerPass` images, so that
/// short lists still give stable timings. One untimed pass warms the cache, then the fastest
/// of `timedRuns` passes is reported.
/// tools/bench/preprocess_bench.py measures Pillow with CLIPImageProcessor the same way.
enum PreprocessBenchCommand {
    static let timedRuns = 5
    static let minimumImagesPerPass = 40

    static func run(_ arguments: [String]) throws {
        let options = try CommandLineArguments(
            command: "bench-preprocess", arguments: arguments, valueOptions: ["model", "image-dir", "input", "image-field"]
        )
        let modelDirectory = try options.directory("model")
        let imageDirectory = try options.directory("image-dir")
        let input = URL(fileURLWithPath: try options.required("input"))
        let imageField = options.optional("image-field") ?? "image"

        let listed = try JSONLines.readStrings(at: input, field: imageField).map { imageDirectory.appendingPathComponent($0) }
        guard !listed.isEmpty else {
            throw CommandLineFailure("\(input.path) lists no images; give one {\"\(imageField)\": ...} object per line")
        }
        let repeats = (minimumImagesPerPass + listed.count - 1) / listed.count
        let files = Array(Array(repeating: listed, count: repeats).joined())
        let preprocessor = try ImagePreprocessor(modelDirectory: modelDirectory)
        var buffer = [Float](repeating: 0, count: preprocessor.valuesPerImage)

        func pass() throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try buffer.withUnsafeMutableBufferPointer { (destination) throws(ImageError) in
                for file in files {
                    try preprocessor.preprocess(fileAt: file, into: destination)
                }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }

        _ = try pass()
        var seconds = Double.infinity
        for _ in 0..<timedRuns {
            seconds = min(seconds, try pass())
        }
        print("images: \(listed.count), \(files.count) a pass, output 3x\(preprocessor.height)x\(preprocessor.width)")
        let rate = Double(files.count) / seconds
        let milliseconds = seconds * 1000 / Double(files.count)
        print("single thread: \(String(format: "%.1f", rate)) images/s (\(String(format: "%.2f", milliseconds)) ms an image)")
    }
}
