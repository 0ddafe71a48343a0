import Foundation

/// A `.npy` file that cannot be read or written.
public enum NPYError: Error, CustomStringConvertible, Equatable {
    case unreadableFile(path: String, reason: String)
    case invalidHeader(path: String, reason: String)
    case unsupportedArray(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidHeader(let path, let reason):
            return "\(path) is not a valid .npy file: \(reason)"
        case .unsupportedArray(let path, let reason):
            return "\(path): \(reason); save it with numpy.save(path, array.astype(numpy.float32))"
        case .writeFailed(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }
}

/// Reads and writes NumPy's `.npy` format (versions 1.0 to 3.0) for float32 arrays in C order,
/// the layout `numpy.load` returns as a `float32` array of the same shape.
public enum NPY {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Writes `values` with `shape` to `url` through a temporary file in the same directory,
    /// renamed over `url` at the end, so a failed write never leaves a partial file there.
    public static func write(_ values: [Float], shape: [Int], to url: URL) throws(NPYError) {
        guard shape.reduce(1, *) == values.count else {
            throw .writeFailed(path: url.path, reason: "shape \(shape) does not hold \(values.count) values")
        }
        let writer = try NPYStreamWriter(url: url, trailingShape: Array(shape.dropFirst()))
        try values.withUnsafeBufferPointer { (buffer) throws(NPYError) in
            try writer.append(buffer)
        }
        try writer.finish(expectedRows: shape.first)
    }

    /// Reads a float32 array from `url`, returning its shape and values in C order.
    public static func readFloat32(at url: URL) throws(NPYError) -> (shape: [Int], values: [Float]) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw .unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, Array(bytes.prefix(6)) == magic else {
            throw .invalidHeader(path: url.path, reason: "the file does not start with the .npy magic bytes")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else {
                throw .invalidHeader(path: url.path, reason: "the file ends inside the header")
            }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw .invalidHeader(path: url.path, reason: "unknown format version \(major)")
        }
        guard headerStart + headerLength <= data.count,
              let header = String(data: data.subdata(in: headerStart ..< headerStart + headerLength), encoding: .utf8)
        else {
            throw .invalidHeader(path: url.path, reason: "the header is truncated or not text")
        }

        let fields = try parseHeader(header, path: url.path)
        guard fields.descr == "<f4" || fields.descr == "=f4" || fields.descr == "|f4" else {
            throw .unsupportedArray(path: url.path, reason: "dtype '\(fields.descr)' is not little-endian float32")
        }
        guard !fields.fortranOrder else {
            throw .unsupportedArray(path: url.path, reason: "the array is in Fortran order")
        }

        var count = 1
        for dimension in fields.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw .invalidHeader(path: url.path, reason: "shape \(fields.shape) is too large")
            }
            count = product
        }
        let payloadStart = headerStart + headerLength
        guard data.count - payloadStart == count * 4 else {
            throw .invalidHeader(
                path: url.path,
                reason: "shape \(fields.shape) needs \(count * 4) bytes of data, the file has \(data.count - payloadStart)"
            )
        }
        var values = [Float](repeating: 0, count: count)
        _ = values.withUnsafeMutableBytes { destination in
            data.copyBytes(to: destination, from: payloadStart ..< data.count)
        }
        // Little-endian data, read on a little-endian machine, needs no byte swap.
        return (fields.shape, values)
    }

    /// Parses the Python dictionary literal of a header, for example
    /// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 512), }`.
    private static func parseHeader(_ header: String, path: String) throws(NPYError) -> (descr: String, fortranOrder: Bool, shape: [Int]) {
        func value(after key: String) -> Substring? {
            guard let range = header.range(of: "'\(key)':") else { return nil }
            return header[range.upperBound...].drop(while: { $0 == " " })
        }
        guard let descrText = value(after: "descr"), descrText.first == "'",
              let descrEnd = descrText.dropFirst().firstIndex(of: "'")
        else {
            throw .invalidHeader(path: path, reason: "the header has no 'descr'")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex) ..< descrEnd])

        guard let orderText = value(after: "fortran_order") else {
            throw .invalidHeader(path: path, reason: "the header has no 'fortran_order'")
        }
        let fortranOrder = orderText.hasPrefix("True")

        guard let shapeText = value(after: "shape"), shapeText.first == "(",
              let shapeEnd = shapeText.firstIndex(of: ")")
        else {
            throw .invalidHeader(path: path, reason: "the header has no 'shape'")
        }
        var shape: [Int] = []
        for part in shapeText[shapeText.index(after: shapeText.startIndex) ..< shapeEnd].split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            guard let dimension = Int(trimmed), dimension >= 0 else {
                throw .invalidHeader(path: path, reason: "shape entry '\(trimmed)' is not a size")
            }
            shape.append(dimension)
        }
        return (descr, fortranOrder, shape)
    }
}

/// Writes a float32 `.npy` file row by row, so an output of any length never has to fit in
/// memory.
///
/// Rows go to a temporary file beside the destination. `finish` writes the final shape into
/// the header, which was written with room for any row count, and renames the file over the
/// destination. A writer dropped without `finish` removes its temporary file, so an
/// interrupted job leaves no partial output.
public final class NPYStreamWriter {
    public let url: URL
    /// The shape of one row: `[columns]` for a matrix, `[3, H, W]` for images.
    public let trailingShape: [Int]
    public private(set) var rows = 0
    private let temporaryURL: URL
    private let handle: FileHandle
    private let valuesPerRow: Int
    private var pendingValues = 0
    private var finished = false

    /// The header is padded to this many bytes (magic included); the 20-digit row count of the
    /// largest shape still fits.
    private static let headerBytes = 128

    public init(url: URL, trailingShape: [Int]) throws(NPYError) {
        self.url = url
        self.trailingShape = trailingShape
        valuesPerRow = trailingShape.reduce(1, *)
        let directory = url.deletingLastPathComponent()
        temporaryURL = directory.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).partial")
        PartialFiles.register(temporaryURL.path)
        guard FileManager.default.createFile(atPath: temporaryURL.path, contents: nil) else {
            PartialFiles.unregister(temporaryURL.path)
            let reason = FileManager.default.fileExists(atPath: directory.path)
                ? "the directory \(directory.path) is not writable" : "no such directory \(directory.path)"
            throw .writeFailed(path: url.path, reason: reason)
        }
        do {
            handle = try FileHandle(forWritingTo: temporaryURL)
        } catch {
            try? FileManager.default.removeItem(at: temporaryURL)
            PartialFiles.unregister(temporaryURL.path)
            throw .writeFailed(path: url.path, reason: error.localizedDescription)
        }
        try write(Self.header(rows: 0, trailingShape: trailingShape))
    }

    deinit {
        if !finished {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporaryURL)
            PartialFiles.unregister(temporaryURL.path)
        }
    }

    static func header(rows: Int, trailingShape: [Int]) -> Data {
        let dimensions = ([rows] + trailingShape).map(String.init)
        let shape = dimensions.count == 1 ? "(\(dimensions[0]),)" : "(" + dimensions.joined(separator: ", ") + ")"
        var dictionary = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        let prefixLength = NPY.magic.count + 4
        dictionary += String(repeating: " ", count: headerBytes - prefixLength - dictionary.utf8.count - 1) + "\n"
        let length = UInt16(dictionary.utf8.count)
        return Data(NPY.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dictionary.utf8))
    }

    /// Appends values in C order; their count must be a whole number of rows by the time
    /// `finish` is called.
    public func append(_ values: UnsafeBufferPointer<Float>) throws(NPYError) {
        precondition(!finished, "append after finish")
        let bytes = UnsafeRawBufferPointer(values)
        // The format stores little-endian floats, the byte order of every platform Swift runs
        // on that this package supports.
        try write(Data(bytes))
        pendingValues += values.count
        rows += pendingValues / max(valuesPerRow, 1)
        pendingValues %= max(valuesPerRow, 1)
    }

    public func append(_ values: [Float]) throws(NPYError) {
        try values.withUnsafeBufferPointer { (buffer) throws(NPYError) in try append(buffer) }
    }

    /// Writes the final row count into the header and moves the file to `url`. With
    /// `expectedRows`, a different count is an error and nothing is written.
    public func finish(expectedRows: Int? = nil) throws(NPYError) {
        precondition(!finished, "finish called twice")
        guard pendingValues == 0 else {
            throw .writeFailed(path: url.path, reason: "the last row is incomplete")
        }
        if let expectedRows, expectedRows != rows {
            throw .writeFailed(path: url.path, reason: "expected \(expectedRows) rows, got \(rows)")
        }
        do {
            try handle.seek(toOffset: 0)
            try handle.write(contentsOf: Self.header(rows: rows, trailingShape: trailingShape))
            try handle.synchronize()
            try handle.close()
        } catch {
            throw .writeFailed(path: url.path, reason: error.localizedDescription)
        }
        guard rename(temporaryURL.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporaryURL)
            PartialFiles.unregister(temporaryURL.path)
            throw .writeFailed(path: url.path, reason: reason)
        }
        PartialFiles.unregister(temporaryURL.path)
        finished = true
    }

    private func write(_ data: Data) throws(NPYError) {
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw .writeFailed(path: url.path, reason: error.localizedDescription)
        }
    }
}
