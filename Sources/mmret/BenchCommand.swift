import Foundation
import MMRet

/// `mmret bench --model DIR`: image and text throughput of the fp32 forward pass on
/// random inputs of the model's full size (image_size pixels, max_position_embeddings
/// tokens). A benchmark, not a test: it checks no values, only that none is NaN.
enum BenchCommand {
    static func run(_ arguments: [String]) throws {
        let options = try CommandLineArguments(
            command: "bench", arguments: arguments,
            valueOptions: ["model", "batch", "iterations", "warmup", "threads", "mode", "precision", "text-tokens"]
        )
        let directory = try options.directory("model")
        // 1024 full-size images already take several gigabytes of activations.
        let batch = try options.integer("batch", default: 32, maximum: 1024)
        let iterations = try options.integer("iterations", default: 5)
        let warmup = try options.integer("warmup", default: 1, minimum: 0)
        let threads = try options.integer("threads", default: ProcessInfo.processInfo.activeProcessorCount, maximum: 1024)
        let modeText = options.optional("mode") ?? "image,text"
        let modes = modeText.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard modes.allSatisfy({ ["image", "text", "gemm"].contains($0) }) else {
            throw CommandLineError("--mode takes a comma-separated list of image, text and gemm, got '\(modeText)'")
        }

        let precisionText = options.optional("precision") ?? "fp32"
        guard let precision = Precision(rawValue: precisionText) else {
            throw CommandLineError("--precision takes fp32 or bf16, got '\(precisionText)'")
        }

        let context = ComputeContext(gemm: try gemmBackend(), threadCount: threads)
        let loadStart = Date()
        let model = try CLIPModel(directory: directory, precision: precision)
        printDiagnostic("loaded \(directory.path) in \(String(format: "%.1f", Date().timeIntervalSince(loadStart))) s; \(precision.rawValue), gemm \(context.gemm.name), \(threads) threads")

        let textLengths = try textLengthRange(options.optional("text-tokens"), maximum: model.config.text.maxPositionEmbeddings)

        var generator = SplitMix64(seed: 42)
        if modes.contains("gemm") {
            GEMMBench.run(config: model.config, batch: batch, threads: threads, iterations: iterations)
        }
        if modes.contains("image") {
            let vision = model.config.vision
            let count = batch * vision.numChannels * vision.imageSize * vision.imageSize
            let pixels = (0 ..< count).map { _ in generator.nextUniform() * 4 - 2 }
            let seconds = try measure(iterations: iterations, warmup: warmup) {
                try model.imageFeatures(pixelValues: pixels, context: context)
            }
            let rate = Double(batch) / seconds
            let gigaflops = Double(ModelFLOPs.image(model.config.vision)) * rate / 1e9
            print("mmret image \(precision.rawValue) batch=\(batch) threads=\(threads) images/s=\(String(format: "%.2f", rate)) gemm=\(context.gemm.name) gflop/s=\(String(format: "%.1f", gigaflops))")
        }
        if modes.contains("text") {
            let tokens = randomTokens(batch: batch, lengths: textLengths, config: model.config.text, generator: &generator)
            let seconds = try measure(iterations: iterations, warmup: warmup) {
                try model.textFeatures(tokens, context: context)
            }
            print("mmret text \(precision.rawValue) batch=\(batch) threads=\(threads) texts/s=\(String(format: "%.2f", Double(batch) / seconds)) gemm=\(context.gemm.name) tokens=\(textLengths.lowerBound)-\(textLengths.upperBound)")
        }
    }

    /// Returns the backend that `MMRET_GEMM` names, rejecting names it does not know
    /// rather than falling back silently.
    static func gemmBackend() throws(CommandLineError) -> any GEMMBackend {
        let name = ProcessInfo.processInfo.environment["MMRET_GEMM"]
        if let name, ComputeContext.backend(named: name) == nil {
            throw CommandLineError("MMRET_GEMM=\(name) is not a GEMM backend; use onednn or openblas")
        }
        return ComputeContext.defaultBackend()
    }

    /// Parses `--text-tokens MIN-MAX` (or a single length), special tokens included. The
    /// default is the model's `max_position_embeddings`.
    static func textLengthRange(_ text: String?, maximum: Int) throws(CommandLineError) -> ClosedRange<Int> {
        guard let text else { return maximum ... maximum }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        let bounds: (Int?, Int?) = parts.count == 1 ? (parts[0], parts[0]) : parts.count == 2 ? (parts[0], parts[1]) : (nil, nil)
        guard let lower = bounds.0, let upper = bounds.1, lower >= 2, lower <= upper, upper <= maximum else {
            throw CommandLineError("--text-tokens takes MIN-MAX or N with 2 <= MIN <= MAX <= \(maximum) (the model's max_position_embeddings), got '\(text)'")
        }
        return lower ... upper
    }

    /// Returns sequences like the CLIP tokenizer's, padded to the longest: a start token,
    /// random word ids and an end token that both pooling rules find last. Text `i` has
    /// `lower + (7 i) mod (upper - lower + 1)` tokens, a spread that
    /// tools/bench/compare_all.py repeats. For the legacy rule the end token is the
    /// largest id; otherwise it is `eos_token_id`, which no word id repeats.
    static func randomTokens(batch: Int, lengths: ClosedRange<Int>, config: CLIPTextConfig, generator: inout SplitMix64) -> TokenBatch {
        let endID = Int32(config.poolsAtLargestTokenID ? config.vocabSize - 1 : config.eosTokenID)
        var sequences: [[Int32]] = []
        for index in 0 ..< batch {
            let length = lengths.lowerBound + (7 * index) % lengths.count
            var sequence = [Int32(config.bosTokenID)]
            while sequence.count < length - 1 {
                let word = Int32(generator.next() % UInt64(max(1, config.vocabSize - 3))) + 1
                sequence.append(word == endID ? word - 1 : word)
            }
            sequence.append(endID)
            sequences.append(Array(sequence.prefix(length)))
        }
        return TokenBatch(sequences: sequences, paddingID: endID)
    }

    /// Returns the median wall time of `iterations` runs after `warmup` untimed ones.
    static func measure(iterations: Int, warmup: Int, _ body: () throws -> Matrix) throws -> Double {
        var times: [Double] = []
        for iteration in 0 ..< warmup + iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            let output = try body()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            guard output.values.allSatisfy(\.isFinite) else {
                throw CommandLineError("the forward pass produced NaN or Inf; the checkpoint's weights are not usable")
            }
            if iteration >= warmup {
                times.append(seconds)
            }
        }
        return times.sorted()[times.count / 2]
    }
}

/// A small deterministic generator (SplitMix64) so that benchmark inputs repeat exactly.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Returns a Float in [0, 1).
    mutating func nextUniform() -> Float {
        Float(next() >> 40) / Float(1 << 24)
    }
}
