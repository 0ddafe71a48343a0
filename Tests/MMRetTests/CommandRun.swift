import Foundation
import Testing

/// One run of the `mmret` binary as a subprocess, with its exit status and output.
struct CommandRun {
    /// The `mmret` binary that `swift build --build-tests` puts next to the test bundle.
    static let binary: URL? = {
        var directory = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("mmret")
            if FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }()

    let status: Int32
    let stdout: String
    let stderr: String

    /// Runs `mmret` with `arguments`, adding `environment` to this process's variables.
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        let binary = try #require(Self.binary, "mmret binary not found next to \(Bundle.main.bundleURL.path); build it first")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        status = process.terminationStatus
        self.stdout = String(decoding: output, as: UTF8.self)
        self.stderr = String(decoding: errors, as: UTF8.self)
    }
}
