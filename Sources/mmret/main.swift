import Foundation
import MMRet

let usage = """
    usage: mmret <command> [options]

    commands:
      encode --model DIR --type text|image|mm_it [--input FILE.jsonl] [--image-dir DIR] --output OUT.npy
          Embed each input line (or, for --type image without --input, every image file
          under --image-dir, sorted by path) and write a float32 N × D .npy matrix.
          --text-field, --image-field: the JSON fields to read (default "text", "image")
          --batch-size: inputs per forward pass; changes speed, not results (default 32)
          --max-length: token limit of each text (default 77, 75 for mm_it captions)
          --threads: threads for the model (default: all cores)
          --precision: fp32 (default, the reference's arithmetic) or bf16 (faster, cosine ≥ 0.999)
          --no-normalize: keep text and image rows unnormalised (mm_it rows always are)
          --skip-invalid: skip bad lines and images, report each, and write the input
              line number of every row to OUT.lines.txt
          --max-pixels N: reject larger images before decoding (default 178956970)
          --exif-orientation: turn JPEG photos upright by their EXIF tag (the reference does not)
          --quiet: no progress or summary on stderr
      search --model DIR [--corpus FILE.jsonl] [--image-dir DIR] --query-text T [--query-image I]
          Rank the corpus against a text, image or composed (both) query by inner product
          and print rank, score and id per line, best first. Without --corpus, the corpus
          is every image under --image-dir, or the E.ids.txt beside --corpus-embeddings.
          --corpus-type: text, image or mm_it (default image)
          --corpus-embeddings E.npy: use embeddings from `mmret encode` of the same corpus
          --top-k: results to print (default 10)
          --id-field: the JSON field printed as the id (default "id", else the image or text)
          --show-field NAME: also print this field of each result's corpus line
          --output FILE: write the results there instead of to stdout
      search --model DIR --corpus FILE.jsonl --queries FILE.jsonl [--output OUT.json]
          Rank the corpus for every query line and write {"query id": [top corpus ids]} as
          JSON, in query order (the format of CIRCO-style evaluations).
          --query-type: text, image or mm_it (default mm_it)
          --query-text-field, --query-image-field: the query fields (default "text", "image")
          --top-k: ids kept per query (default 50)
      evaluate --results RESULTS.json --ground-truth FILE.jsonl [--k 5,10,25,50]
          Score the rankings of `search --queries` against the correct ids of each query:
          Recall@k (FashionIQ's metric) and mAP@k (CIRCO's).
          --id-field: the ground-truth field with the query id (default "id", else the
              line number, as search uses)
          --target-field: the field with the correct id or list of ids (default "target")
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
          Print this text. `mmret <command> --help` prints that command's part.

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

/// The write end of the pipe through which the signal handler wakes the signal thread.
nonisolated(unsafe) var signalPipeWriteEnd: Int32 = -1

/// Deletes unfinished output files when the process is interrupted (Ctrl-C) or terminated,
/// then exits with the shell's status for that signal.
///
/// A C signal handler may only call async-signal-safe functions, so it just writes the
/// signal number into a pipe. A thread of its own reads the pipe, and it can take locks and
/// delete files.
func stopOnSignalsRemovingPartialFiles() {
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { return }
    signalPipeWriteEnd = ends[1]
    let readEnd = ends[0]

    let thread = Thread {
        var received: UInt8 = 0
        guard read(readEnd, &received, 1) == 1 else { return }
        let removed = PartialFiles.removeAll()
        let note = removed > 0 ? "; removed \(removed) unfinished output file\(removed == 1 ? "" : "s")" : ""
        FileHandle.standardError.write(Data("\nmmret: stopped by signal \(received)\(note)\n".utf8))
        // _exit skips the exit handlers, which could run while other threads still compute.
        _exit(128 + Int32(received))
    }
    thread.start()

    // A parent may have started this process with the signals blocked (the mask survives
    // exec), which would leave them pending until the run ends.
    var signals = sigset_t()
    sigemptyset(&signals)
    for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
        sigaddset(&signals, signalNumber)
    }
    pthread_sigmask(SIG_UNBLOCK, &signals, nil)

    for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(signalPipeWriteEnd, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        sigaction(signalNumber, &action, nil)
    }
}

stopOnSignalsRemovingPartialFiles()
let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else {
    FileHandle.standardError.write(Data((usage + "\n").utf8))
    exit(2)
}
let options = Array(arguments.dropFirst())
/// Returns the entries of `usage` for `command` (search has two), or nil for an unknown
/// command. An entry starts at a line indented by exactly two spaces whose first word is
/// the command, and runs until the next such line or a blank line.
func usage(of command: String) -> String? {
    var entries: [String] = []
    var inEntry = false
    for line in usage.split(separator: "\n", omittingEmptySubsequences: false) {
        let isEntryStart = line.hasPrefix("  ") && !line.hasPrefix("   ")
        if isEntryStart {
            inEntry = line.dropFirst(2).split(separator: " ").first.map(String.init) == command
        } else if line.trimmingCharacters(in: .whitespaces).isEmpty {
            inEntry = false
        }
        if inEntry {
            entries.append(String(line))
        }
    }
    return entries.isEmpty ? nil : "usage:\n" + entries.joined(separator: "\n") + "\n\n`mmret help` lists every command."
}

if ["help", "--help", "-h"].contains(command) {
    print(usage)
    exit(0)
}
if options.contains("--help") || options.contains("-h") {
    print(usage(of: command) ?? usage)
    exit(0)
}

do {
    switch command {
    case "info":
        try InfoCommand.run(options)
    case "bench":
        try BenchCommand.run(options)
    case "encode":
        try EncodeCommand.run(options)
    case "search":
        try SearchCommand.run(options)
    case "evaluate":
        try EvaluateCommand.run(options)
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
} catch let error as InputError {
    printError(error.description)
    exit(1)
} catch {
    printError("\(error)")
    exit(1)
}
