import Foundation

/// Paths of the committed golden fixtures, written by tools/reference/*.py.
enum TestFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func model(_ name: String) -> URL {
        root.appendingPathComponent("models").appendingPathComponent(name)
    }

    static func reference(_ name: String) -> URL {
        root.appendingPathComponent("reference").appendingPathComponent("\(name).safetensors")
    }

    /// Creates a fresh empty directory under the system's temporary folder.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmret-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
