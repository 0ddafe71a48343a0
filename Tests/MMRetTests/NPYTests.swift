import Foundation
import Testing
@testable import MMRet

@Suite struct NPYTests {
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmret-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func roundTripsMatrixAndHeaderIsAlignedForNumpy() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.npy")
        let values: [Float] = (0 ..< 12).map { Float($0) * 0.5 - 2 }
        try NPY.write(values, shape: [3, 4], to: url)

        let read = try NPY.readFloat32(at: url)
        #expect(read.shape == [3, 4])
        #expect(read.values == values)

        // numpy requires the header (magic included) to end on a 64-byte boundary with '\n'.
        let bytes = try [UInt8](Data(contentsOf: url))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        #expect(bytes[10 + headerLength - 1] == 0x0A)
        #expect(bytes.count == 10 + headerLength + values.count * 4)
        let header = String(decoding: bytes[10 ..< 10 + headerLength], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["m.npy"])
    }

    @Test func streamWriterCountsRowsAndWritesOneDimensionalShape() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("v.npy")
        let writer = try NPYStreamWriter(url: url, trailingShape: [])
        try writer.append([1, 2])
        try writer.append([3])
        try writer.finish(expectedRows: 3)
        let read = try NPY.readFloat32(at: url)
        #expect(read.shape == [3])
        #expect(read.values == [1, 2, 3])
    }

    @Test func abandonedWriterLeavesNoFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("out.npy")
        do {
            let writer = try NPYStreamWriter(url: url, trailingShape: [2])
            try writer.append([1, 2, 3, 4])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)

        let writer = try NPYStreamWriter(url: url, trailingShape: [2])
        try writer.append([1, 2, 3])
        #expect(throws: NPYError.writeFailed(path: url.path, reason: "the last row is incomplete")) {
            try writer.finish()
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test func rejectsOtherDTypesAndTruncatedFilesByName() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("a.npy")
        try NPY.write([1, 2, 3, 4], shape: [2, 2], to: url)
        var bytes = try [UInt8](Data(contentsOf: url))

        var float64 = bytes
        let descr = Array("<f4".utf8)
        let at = float64.indices.first { Array(float64[$0 ..< $0 + 3]) == descr }!
        float64[at + 2] = UInt8(ascii: "8")
        try Data(float64).write(to: url)
        #expect(throws: NPYError.unsupportedArray(path: url.path, reason: "dtype '<f8' is not little-endian float32")) {
            try NPY.readFloat32(at: url)
        }

        bytes.removeLast(3)
        try Data(bytes).write(to: url)
        #expect(throws: NPYError.invalidHeader(path: url.path, reason: "shape [2, 2] needs 16 bytes of data, the file has 13")) {
            try NPY.readFloat32(at: url)
        }

        try Data("hello".utf8).write(to: url)
        #expect(throws: NPYError.self) { try NPY.readFloat32(at: url) }
    }

    @Test func failsCleanlyWhenTheDirectoryIsMissing() {
        let url = URL(fileURLWithPath: "/nonexistent-mmret-dir/out.npy")
        #expect(throws: NPYError.writeFailed(path: url.path, reason: "no such directory /nonexistent-mmret-dir")) {
            try NPY.write([1], shape: [1], to: url)
        }
    }
}
