import Foundation
import Testing
@testable import MMRet

/// `mmret preprocess`, run as a subprocess on the golden images.
struct ImageCommandTests {
    private func writeLines(_ lines: [String], in directory: URL) throws -> URL {
        let url = directory.appendingPathComponent("images.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
        return url
    }

    @Test func preprocessWritesReferenceValues() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases = ImageFixtures.manifest.cases.filter { $0.config == "clip-base" && !$0.appliesEXIFOrientation }
        let chosen = ["inputs/jpeg-420-267x200.jpg", "inputs/gif-animated-88x96.gif", "inputs/jpeg-named-as.png"]
            .compactMap { input in cases.first { $0.input == input } }
        try #require(chosen.count == 3)
        let input = try writeLines(chosen.map { "{\"path\": \"\($0.input)\", \"id\": 1}" }, in: directory)
        let output = directory.appendingPathComponent("pixels.npy")

        let run = try CommandRun([
            "preprocess", "--model", ImageFixtures.config("clip-base").path, "--image-dir", ImageFixtures.root.path,
            "--input", input.path, "--image-field", "path", "--output", output.path,
        ])
        #expect(run.status == 0, "stderr: \(run.stderr)")

        let (shape, values) = try NPY.readFloat32(at: output)
        #expect(shape == [3, 3, 224, 224])
        let config = try ImageProcessorConfig(directory: ImageFixtures.config("clip-base"))
        for (index, golden) in chosen.enumerated() {
            let expected = ImageFixtures.pixelValues(from: try ImageFixtures.expectedImage(golden.expected), config: config)
            let row = Array(values[(index * expected.count)..<((index + 1) * expected.count)])
            let worst = ImageFixtures.maximumDifference(row, expected)
            #expect(worst.value <= 1e-6, "\(golden.input): max |difference| \(worst.value) at \(worst.index)")
        }
    }

    @Test func preprocessNamesFailingImageAndWritesNothing() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = try writeLines(["{\"image\": \"inputs/png-rgb-224x224.png\"}", "{\"image\": \"inputs/missing.jpg\"}"], in: directory)
        let output = directory.appendingPathComponent("pixels.npy")

        let run = try CommandRun([
            "preprocess", "--model", ImageFixtures.config("clip-base").path, "--image-dir", ImageFixtures.root.path,
            "--input", input.path, "--output", output.path,
        ])
        #expect(run.status == 1)
        #expect(run.stderr.contains("line 2 of \(input.path)"), "stderr: \(run.stderr)")
        #expect(run.stderr.contains("inputs/missing.jpg"), "stderr: \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func preprocessAppliesPixelLimit() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = try writeLines(["{\"image\": \"inputs/png-rgb-224x224.png\"}"], in: directory)
        let run = try CommandRun([
            "preprocess", "--model", ImageFixtures.config("clip-base").path, "--image-dir", ImageFixtures.root.path,
            "--input", input.path, "--output", directory.appendingPathComponent("out.npy").path, "--max-pixels", "1000",
        ])
        #expect(run.status == 1)
        #expect(run.stderr.contains("more than the maximum of 1000 pixels"), "stderr: \(run.stderr)")
    }

    @Test func preprocessRejectsModelWithoutProcessorConfig() throws {
        let directory = try TestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = try writeLines(["{\"image\": \"inputs/png-rgb-224x224.png\"}"], in: directory)
        let run = try CommandRun([
            "preprocess", "--model", directory.path, "--image-dir", ImageFixtures.root.path,
            "--input", input.path, "--output", directory.appendingPathComponent("out.npy").path,
        ])
        #expect(run.status == 1)
        #expect(run.stderr.contains("preprocessor_config.json"), "stderr: \(run.stderr)")
    }
}
