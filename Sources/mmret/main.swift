import Foundation
import MMRet

let usage = """
    usage: mmret <command> [options]

    commands:
      info --model DIR
          Print a checkpoint's architecture, parameter count and stored dtype.
      tokenize --model DIR --input FILE.jsonl [--max-length N] [--text-field NAME]
          Print the token ids of each line's text as one JSON array per line.
          --max-length: ids per text, special tokens included (default 77)
          --text-field: the JSON field that holds the text (default "text")
      bench --model DIR [--batch N] [--iterations N] [--warmup N] [--threads N] [--mode MODES]
            [--precision P] [--text-tokens MIN-MAX]
          Measure images/s and texts/s on random full-size inputs.
          --batch: inputs per forward pass (default 32)
          --iterations: timed passes, the median is printed (default 5)
          --warmup: untimed passes first (default 1)
          --threads: threads for GEMM and kernels (default: all cores)
          --mode: comma-separated image, text, gemm (default image,text); gemm times
            the vision fc1 GEMM alone, one per thread, in fp32 and bf16
          --text-tokens: text lengths, special tokens included, spread over MIN-MAX
            (default: max_position_embeddings)
          --precision: fp32 or bf16 (bf16 weights and GEMM inputs; default fp32)
      bench-tokenizer --model DIR --input FILE.jsonl [--text-field NAME]
          Measure tokenizer tokens/s on one thread and as a batch on all cores.
      help
          Print this text. `mmret <command> --help` prints it too.

    Results go to stdout, progress and errors to stderr. MMRET_GEMM=onednn (default) or
    openblas selects the matrix-multiply library.
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
guard let command = arguments.first else {
    FileHandle.standardError.write(Data((usage + "\n").utf8))
    exit(2)
}
let options = Array(arguments.dropFirst())
if ["help", "--help", "-h"].contains(command) || options.contains("--help") || options.contains("-h") {
    print(usage)
    exit(0)
}

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
