import Foundation
import MMRet

/// `mmret tokenize`: prints the token ids of each JSON Lines record as one JSON array per line.
///
/// All lines are read and encoded before anything is printed, so an invalid line leaves
/// stdout empty instead of half-written.
enum TokenizeCommand {
    static func run(_ arguments: [String]) throws {
        var options = try CommandLineArguments(command: "tokenize", arguments: arguments, flagNames: [])
        let modelPath = try options.required("model")
        let inputPath = try options.required("input")
        let maxLength = try options.positiveInteger("max-length", default: CLIPTokenizer.defaultMaxLength)
        let textField = options.optional("text-field") ?? "text"
        try options.rejectUnused()

        let tokenizer = try CLIPTokenizer(directory: URL(fileURLWithPath: modelPath))
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
