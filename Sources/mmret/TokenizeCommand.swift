import Foundation
import MMRet

/// `mmret tokenize`: prints the token ids of each JSON Lines record as one JSON array per line.
///
/// All lines are read and encoded before anything is printed, so an invalid line leaves
/// stdout empty instead of half-written.
enum TokenizeCommand {
    static func run(_ arguments: [String]) throws {
        let options = try CommandLineArguments(
            command: "tokenize", arguments: arguments, valueOptions: ["model", "input", "max-length", "text-field"]
        )
        let directory = try options.directory("model")
        let inputPath = try options.required("input")
        let maxLength = try options.integer("max-length", default: CLIPTokenizer.defaultMaxLength)
        let textField = options.optional("text-field") ?? "text"

        let tokenizer = try CLIPTokenizer(directory: directory)
        guard maxLength >= tokenizer.specialTokenCount else {
            throw CommandLineError(
                "--max-length must be at least \(tokenizer.specialTokenCount), the number of special tokens, got \(maxLength)"
            )
        }
        let texts = try JSONLines.readStrings(at: URL(fileURLWithPath: inputPath), field: textField)
        let batch = tokenizer.encodeBatch(texts, maxLength: maxLength)

        var output = ""
        for ids in batch.ids {
            output += "[" + ids.map { String($0) }.joined(separator: ", ") + "]\n"
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}
