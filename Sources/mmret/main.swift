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
          Measure fp32 images/s and texts/s on random full-size inputs.
          --batch: inputs per forward pass (default 32)
          --iterations: timed passes, the median is printed (default 5)
          --warmup: untimed passes first (default 1)
          --threads: threads for GEMM and kernels (default: all cores)
          --mode: image, text or image,text (default image,text)
      bench-tokenizer --model DIR --input FILE.jsonl [--text-field NAME]
          Measure tokenizer tokens/s on one thread and as a batch on all cores.
      preprocess --model DIR --image-dir DIR --input FILE.jsonl --output OUT.npy [--image-field NAME]
                 [--max-pixels N] [--exif-orientation]
          Write the CLIP pixel_values of each line's image as float32 N x 3 x H x W to OUT.npy,
          with the model's preprocessor_config.json.
          --image-field: the JSON field that holds the image path, relative to --image-dir
              (default "image")
          --max-pixels: reject images with more pixels than this (default 178956970, as Pillow)
          --exif-orientation: turn JPEG images upright by their EXIF orientation tag (off by
              default, as in transformers)
      bench-preprocess --model DIR --image-dir DIR --input FILE.jsonl [--image-field NAME]
          Measure images/s of decoding and preprocessing the listed images on one thread.
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
    case "preprocess":
        try PreprocessCommand.run(options)
    case "bench-preprocess":
        try PreprocessBenchCommand.run(options)
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
