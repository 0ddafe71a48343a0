import Foundation
import Testing

/// The `mmret` commands as a user runs them: results on stdout, errors on stderr with
/// `error:`, exit status 2 for usage errors and 1 for bad data.
struct CommandLineTests {
    let model = TestFixtures.model("eos-pooling-f16").path

    @Test func infoPrintsArchitecture() throws {
        let run = try CommandRun(["info", "--model", model])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("width 32, 2 layers, 2 heads, MLP 48, gelu"))
        #expect(run.stdout.contains("image 30x30, patch 6 (26 tokens"))
        #expect(run.stdout.contains("pooling at the first eos_token_id 500"))
        #expect(run.stdout.contains("stored as F16"))
        #expect(run.stdout.contains("projection:  16"))
    }

    @Test func benchPrintsBothRates() throws {
        let run = try CommandRun(["bench", "--model", model, "--batch", "3", "--iterations", "1", "--warmup", "0", "--threads", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("mmret image fp32 batch=3 threads=2 images/s=") == true)
        #expect(lines.last?.hasPrefix("mmret text fp32 batch=3 threads=2 texts/s=") == true)
        #expect(run.stderr.contains("gemm onednn, 2 threads"))
    }

    @Test func benchBF16WithShortTexts() throws {
        let run = try CommandRun(["bench", "--model", model, "--batch", "3", "--iterations", "1", "--warmup", "0",
                                  "--precision", "bf16", "--text-tokens", "3-9", "--mode", "text,gemm"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        let fp32Line = lines.first { $0.hasPrefix("mmret gemm fp32 batch=3") }
        #expect(fp32Line != nil)
        #expect(fp32Line?.contains("gemm=onednn") == true)
        #expect(lines.contains { $0.hasPrefix("mmret gemm bf16 batch=3") })
        #expect(lines.last?.hasPrefix("mmret text bf16 batch=3") == true)
        #expect(lines.last?.hasSuffix("tokens=3-9") == true)
        #expect(run.stderr.contains("bf16, gemm onednn"))
    }

    @Test(arguments: [
        (["--precision", "fp16"], "--precision takes fp32 or bf16, got 'fp16'"),
        (["--text-tokens", "9-3"], "--text-tokens takes MIN-MAX or N with 2 <= MIN <= MAX <= 20"),
        (["--text-tokens", "5-40"], "--text-tokens takes MIN-MAX or N with 2 <= MIN <= MAX <= 20"),
        (["--text-tokens", "x"], "--text-tokens takes MIN-MAX or N"),
    ])
    func benchRejectsBadOption(arguments: [String], message: String) throws {
        let run = try CommandRun(["bench", "--model", model] + arguments)
        #expect(run.status == 2)
        #expect(run.stderr.contains(message), "\(run.stderr)")
    }

    @Test func benchTextModeOnly() throws {
        let run = try CommandRun(["bench", "--model", model, "--mode", "text", "--iterations", "1"], environment: ["MMRET_GEMM": "openblas"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("mmret text fp32"))
        #expect(run.stdout.contains("gemm=openblas"))
        #expect(!run.stdout.contains("image"))
    }

    /// Usage errors: each exits with 2, prints nothing on stdout and names the problem.
    @Test(arguments: [
        (["info", "--modle", "x"], "unknown option --modle for 'info'; did you mean --model?"),
        (["info", "--model"], "option --model needs a value"),
        (["info", "--model", "--batch", "4"], "option --model needs a value"),
        (["info", "--model", "a", "--model", "b"], "option --model is given twice"),
        (["info"], "'info' needs --model"),
        (["info", "--model", "/nonexistent/model"], "--model /nonexistent/model: no such directory"),
        (["bench", "--model", ".", "--mode", ""], "--mode takes a comma-separated list of image, text and gemm, got ''"),
        (["bench", "--model", ".", "--threads", "99999999"], "--threads must be an integer from 1 to 1024"),
        (["bench", "--model", ".", "--batch", "four"], "--batch must be an integer from 1"),
        (["bench", "--model", ".", "--batch", "2000000000"], "--batch must be an integer from 1 to 1024"),
        (["frobnicate"], "unknown command 'frobnicate'"),
    ])
    func usageErrorExitsWithTwo(arguments: [String], message: String) throws {
        let run = try CommandRun(arguments)
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.hasPrefix("error: "))
        #expect(run.stderr.contains(message), "\(run.stderr)")
    }

    @Test func unknownGEMMBackendIsRejected() throws {
        let run = try CommandRun(["bench", "--model", model], environment: ["MMRET_GEMM": "mkl"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("MMRET_GEMM=mkl is not a GEMM backend; use onednn or openblas"))
    }

    @Test func directoryWithoutConfigNamesIt() throws {
        let tokenizerOnly = TestFixtures.root.appendingPathComponent("clip-tokenizer").path
        let run = try CommandRun(["info", "--model", tokenizerOnly])
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("\(tokenizerOnly)/config.json: the file is missing"))
    }

    @Test func helpPrintsUsageEverywhere() throws {
        for arguments in [["help"], ["--help"], ["nonsense", "--help"]] {
            let run = try CommandRun(arguments)
            #expect(run.status == 0, "\(arguments)")
            #expect(run.stdout.hasPrefix("usage: mmret <command>"), "\(arguments)")
        }

        // A command's --help prints that command's entries only.
        for (arguments, command) in [(["bench", "--help"], "bench"), (["tokenize", "-h"], "tokenize"), (["search", "--help"], "search")] {
            let run = try CommandRun(arguments)
            #expect(run.status == 0, "\(arguments)")
            #expect(run.stdout.hasPrefix("usage:\n  \(command) --model"), "\(arguments): \(run.stdout)")
            #expect(!run.stdout.contains("  info --model"), "\(arguments) printed other commands")
        }
        #expect(try CommandRun(["search", "--help"]).stdout.components(separatedBy: "\n  search --model").count == 3)
        let bare = try CommandRun([])
        #expect(bare.status == 2)
        #expect(bare.stdout.isEmpty)
        #expect(bare.stderr.hasPrefix("usage: mmret <command>"))
    }
}
