import Foundation

/// A JSON Lines file that cannot be read. Line numbers start at 1.
public enum JSONLinesError: Error, CustomStringConvertible, Equatable {
    case unreadableFile(path: String, reason: String)
    case invalidUTF8(path: String, line: Int)
    case emptyLine(path: String, line: Int)
    case invalidJSON(path: String, line: Int, reason: String)
    case notAnObject(path: String, line: Int)
    case missingField(path: String, line: Int, field: String)
    case fieldNotString(path: String, line: Int, field: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidUTF8(let path, let line):
            return "\(path):\(line): invalid UTF-8; save the file as UTF-8"
        case .emptyLine(let path, let line):
            return "\(path):\(line): empty line; JSON Lines needs one JSON object on every line"
        case .invalidJSON(let path, let line, let reason):
            return "\(path):\(line): invalid JSON (\(reason)); each line must be one complete JSON object"
        case .notAnObject(let path, let line):
            return "\(path):\(line): expected a JSON object"
        case .missingField(let path, let line, let field):
            return "\(path):\(line): missing field '\(field)'; choose the field with --text-field"
        case .fieldNotString(let path, let line, let field):
            return "\(path):\(line): field '\(field)' is not a string"
        }
    }
}

/// One JSON object of a JSON Lines file.
public struct JSONLinesRecord {
    /// The line the object is on, starting at 1.
    public let lineNumber: Int
    public let object: [String: Any]
}

/// Reads JSON Lines files: UTF-8 text with one JSON object per line.
///
/// A final newline is optional, blank lines at the end are ignored, a trailing `\r` on a
/// line is dropped and a UTF-8 byte order mark at the start is skipped. Every other line
/// must contain one JSON object, so an empty line before the last record is an error
/// rather than silently shifting the line-to-result correspondence.
public enum JSONLines {
    /// Returns every object of the file at `url`, in file order.
    ///
    /// With `skipInvalidLine`, a line that is not valid UTF-8 or not one JSON object is
    /// passed to it and left out instead of ending the read. An unreadable file still throws.
    public static func readObjects(
        at url: URL, skipInvalidLine: ((JSONLinesError) -> Void)? = nil
    ) throws(JSONLinesError) -> [JSONLinesRecord] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw .unreadableFile(path: url.path, reason: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw .unreadableFile(path: url.path, reason: "it is a directory, not a JSON Lines file")
        }
        // A file handle also reads devices and pipes such as /dev/stdin.
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            data = try handle.readToEnd() ?? Data()
        } catch {
            throw .unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            bytes.removeFirst(3)
        }

        // Blank lines at the end of the file (an editor's extra newline) carry no record.
        while let last = bytes.last, [0x0A, 0x0D, 0x20, 0x09].contains(last) {
            bytes.removeLast()
        }

        var records: [JSONLinesRecord] = []
        var lineStart = 0
        var lineNumber = 0
        while lineStart < bytes.count {
            lineNumber += 1
            let newline = bytes[lineStart...].firstIndex(of: 0x0A) ?? bytes.count
            var lineEnd = newline
            if lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D {
                lineEnd -= 1
            }
            let line = bytes[lineStart..<lineEnd]
            lineStart = newline + 1
            do {
                records.append(try parseLine(line, number: lineNumber, path: url.path))
            } catch {
                guard let skipInvalidLine else { throw error }
                skipInvalidLine(error)
            }
        }
        return records
    }

    /// Returns the string field `field` of every object of the file at `url`, in file order.
    public static func readStrings(at url: URL, field: String) throws(JSONLinesError) -> [String] {
        var strings: [String] = []
        for record in try readObjects(at: url) {
            guard let value = record.object[field] else {
                throw .missingField(path: url.path, line: record.lineNumber, field: field)
            }
            guard let string = value as? String else {
                throw .fieldNotString(path: url.path, line: record.lineNumber, field: field)
            }
            strings.append(string)
        }
        return strings
    }

    private static func parseLine(_ line: ArraySlice<UInt8>, number: Int, path: String) throws(JSONLinesError) -> JSONLinesRecord {
        guard String(validating: line, as: UTF8.self) != nil else {
            throw .invalidUTF8(path: path, line: number)
        }
        guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else {
            throw .emptyLine(path: path, line: number)
        }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed])
        } catch {
            // Foundation's localized text is generic; the debug description names the
            // character and column.
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw .invalidJSON(path: path, line: number, reason: detail ?? error.localizedDescription)
        }
        guard let object = value as? [String: Any] else {
            throw .notAnObject(path: path, line: number)
        }
        return JSONLinesRecord(lineNumber: number, object: object)
    }
}
