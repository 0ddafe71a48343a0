import Foundation
import MMRet

/// Bad input data (not a usage mistake): printed after `error:`, exit status 1.
struct InputError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The inputs of one run, read from a JSON Lines file or found in an image folder, with
/// where each came from so that errors and sidecar files can name it.
struct EncodeInputs {
    var texts: [String] = []
    var imageIDs: [String] = []
    /// For a JSON Lines input, the line of each input; empty for a folder scan.
    var lineNumbers: [Int] = []
    /// The `id` field of each record when it has one, else nil.
    var recordIDs: [String?] = []
    /// The field chosen for display (`search --show-field`) of each record, else nil.
    var shownValues: [String?] = []
    let sourcePath: String

    var count: Int { max(texts.count, imageIDs.count) }

    init(sourcePath: String) {
        self.sourcePath = sourcePath
    }

    /// Images named by a list of ids, such as the ids file that a folder encode writes.
    init(imageList ids: [String], source: String) {
        sourcePath = source
        imageIDs = ids
        recordIDs = ids.map { $0 }
        shownValues = ids.map { _ in nil }
    }

    /// Returns the inputs of the given line numbers, in that order, such as the lines that
    /// `encode --skip-invalid` kept.
    func keepingLines(_ lines: [Int], listedIn listPath: String) throws -> EncodeInputs {
        var indexOfLine: [Int: Int] = [:]
        for (index, line) in lineNumbers.enumerated() {
            indexOfLine[line] = index
        }
        var subset = EncodeInputs(sourcePath: sourcePath)
        for line in lines {
            guard let index = indexOfLine[line] else {
                throw InputError("\(listPath) lists line \(line), which \(sourcePath) does not have; was it written for another corpus file?")
            }
            if !texts.isEmpty { subset.texts.append(texts[index]) }
            if !imageIDs.isEmpty { subset.imageIDs.append(imageIDs[index]) }
            subset.lineNumbers.append(line)
            subset.recordIDs.append(recordIDs[index])
            subset.shownValues.append(shownValues[index])
        }
        return subset
    }

    /// Returns where input `index` came from: "file:line", or the image id for a folder scan.
    func location(of index: Int) -> String {
        lineNumbers.isEmpty ? imageIDs[index] : "\(sourcePath):\(lineNumbers[index])"
    }

    /// Returns the id to print for input `index`: its `id` field, else its image, else its text.
    func displayID(of index: Int) -> String {
        if let id = recordIDs[index] { return id }
        if !imageIDs.isEmpty { return imageIDs[index] }
        return texts[index]
    }

    /// Reads the fields that `type` needs from each line of a JSON Lines file.
    ///
    /// A line that lacks a field or is not valid JSON is an error naming the file and line.
    /// With `skipInvalid`, such a line is passed to `report` and left out instead.
    static func read(
        jsonLines url: URL, type: EncodingType, textField: String, imageField: String, idField: String = "id",
        shownField: String? = nil, skipInvalid: Bool, report: @escaping (String) -> Void
    ) throws -> EncodeInputs {
        var inputs = EncodeInputs(sourcePath: url.path)
        let records = try JSONLines.readObjects(
            at: url, skipInvalidLine: skipInvalid ? { report("skipped \($0.description)") } : nil
        )
        let needsText = type != .image
        let needsImage = type != .text
        for record in records {
            var text: String?
            var image: String?
            do throws(InputError) {
                if needsText {
                    text = try field(textField, option: "text-field", of: record, path: url.path)
                }
                if needsImage {
                    image = try field(imageField, option: "image-field", of: record, path: url.path)
                }
            } catch {
                guard skipInvalid else { throw error }
                report("skipped \(error.description)")
                continue
            }
            if let text { inputs.texts.append(text) }
            if let image { inputs.imageIDs.append(image) }
            inputs.lineNumbers.append(record.lineNumber)
            inputs.recordIDs.append(record.object[idField].map { "\($0)" })
            inputs.shownValues.append(shownField.flatMap { record.object[$0] }.map { "\($0)" })
        }
        return inputs
    }

    private static func field(_ name: String, option: String, of record: JSONLinesRecord, path: String) throws(InputError) -> String {
        guard let value = record.object[name] else {
            let present = record.object.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw InputError(
                "\(path):\(record.lineNumber): missing field '\(name)' (the line has \(present.isEmpty ? "no fields" : present)); name the field with --\(option)"
            )
        }
        guard let string = value as? String else {
            throw InputError("\(path):\(record.lineNumber): field '\(name)' must be a string")
        }
        return string
    }

    /// Lists every image file under `directory`, recursively, sorted by path, with ids
    /// relative to `directory`. Files are chosen by extension, and hidden files and folders
    /// are left out.
    static func scan(imageDirectory directory: URL) throws -> EncodeInputs {
        let extensions: Set<String> = ["jpg", "jpeg", "png", "webp", "gif", "bmp"]
        // The folder itself may be a symbolic link, which the enumerator does not follow.
        let resolved = directory.resolvingSymlinksInPath()
        guard let enumerator = FileManager.default.enumerator(
            at: resolved, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]
        ) else {
            throw InputError("cannot list \(directory.path)")
        }
        let root = resolved.standardizedFileURL.path
        var ids: [String] = []
        for case let url as URL in enumerator {
            // A symbolic link counts when it points to a regular file.
            guard extensions.contains(url.pathExtension.lowercased()),
                  (try? url.resolvingSymlinksInPath().resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true
            else { continue }
            var path = url.standardizedFileURL.path
            if path.hasPrefix(root + "/") {
                path.removeFirst(root.count + 1)
            }
            ids.append(path)
        }
        ids.sort()
        return EncodeInputs(imageList: ids, source: directory.path)
    }
}

/// Writes `lines` to `url` through a temporary file renamed at the end, so a failed run
/// leaves no partial file.
func writeLinesAtomically(_ lines: [String], to url: URL) throws {
    let text = lines.map { $0 + "\n" }.joined()
    do {
        try Data(text.utf8).write(to: url, options: .atomic)
    } catch {
        throw InputError("cannot write \(url.path): \(error.localizedDescription)")
    }
}

/// Returns the path of a sidecar file beside `output`: "out.npy" gives "out.<suffix>".
func sidecarURL(for output: URL, suffix: String) -> URL {
    let base = output.pathExtension == "npy" ? output.deletingPathExtension() : output
    return URL(fileURLWithPath: base.path + "." + suffix)
}
