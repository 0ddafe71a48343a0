import Foundation
import MMRet

let usage = """
    usage: mmret <command> [options]

    commands:
      info      --model DIR                 print a checkpoint's architecture
      bench     --model DIR [--batch N] [--iterations N] [--warmup N] [--threads N]
                [--mode image,text]         measure fp32 image and text throughput
      tokenize  --model DIR --input FILE.jsonl [--max-length N] [--text-field NAME]
                                            print the token ids of each line as JSON
      bench-tokenizer --model DIR --input FILE.jsonl [--text-field NAME]
                                            measure tokenizer throughput
      help                                  print this text
    """

/// Writes an error line to stderr; results go to stdout.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}

/// Writes a progress or status line to stderr, keeping stdout for results.
func printDiagnostic(_ message: String) {
    FileHandle.standardError.write(Data("\(message)\n".utf8))
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first, command != "help", command != "--help", command != "-h" else {
    print(usage)
    exit(arguments.isEmpty ? 2 : 0)
}
let options = Array(arguments.dropFirst())

do {
    switch command {
    case "info":
        try InfoCommand.run(options)
    case "bench":
        try BenchCommand.run(options)
    case "tokenize":
        try TokenizeCommand.run(options)
    case "bench-tokenizer":
        try TokenizerBenchCommand.run(options)
    default:
        throw CommandLineError("unknown command '\(command)'\n\(usage)")
    }
} catch let error as CommandLineError {
    printError(error.description)
    exit(2)
} catch {
    printError("\(error)")
    exit(1)
}
