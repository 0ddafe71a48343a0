import Foundation
import MMRet

/// Multiply-add counts of the forward passes, for turning rates into GFLOP/s. Each GEMM
/// of `m × k` by `k × n` counts `2 m n k`; element-wise work is not counted.
enum ModelFLOPs {
    /// Returns the GEMM FLOPs of `get_image_features` for one image.
    static func image(_ config: CLIPVisionConfig) -> Int {
        let sequence = config.sequenceLength
        let width = config.hiddenSize
        let patchInputs = config.numChannels * config.patchSize * config.patchSize
        let patchEmbedding = 2 * (sequence - 1) * patchInputs * width
        return patchEmbedding + config.numHiddenLayers * layer(rows: sequence, width: width, intermediate: config.intermediateSize)
    }

    /// Returns the GEMM FLOPs of one encoder layer over one sequence of `rows` tokens:
    /// the four projections, fc1, fc2 and the two attention products.
    static func layer(rows: Int, width: Int, intermediate: Int) -> Int {
        2 * rows * (4 * width * width + 2 * width * intermediate) + 4 * rows * rows * width
    }
}

/// `mmret bench --mode gemm`: the GEMM rate of this machine on the vision tower's fc1
/// shape, each thread multiplying its own operands at once, as the model's shards do.
/// This is the ceiling that the image rate's gflop/s field can be compared with.
enum GEMMBench {
    static func run(config: CLIPConfig, batch: Int, threads: Int, iterations: Int) {
        let vision = config.vision
        // The rows one shard multiplies: its images' tokens.
        let rows = max(1, batch / threads) * vision.sequenceLength
        let (inputs, outputs) = (vision.hiddenSize, vision.intermediateSize)
        let flops = Double(2 * rows * inputs * outputs * threads)
        // The GEMM library calls (sgemm), then oneDNN's matmul on weights packed at load
        // as the model's encoder layers use it.
        let cases: [(Precision, Bool, any GEMMBackend)] = [
            (.fp32, false, OneDNNBackend()), (.fp32, false, OpenBLASBackend()), (.fp32, true, OneDNNBackend()), (.bf16, true, OneDNNBackend()),
        ]
        for (precision, packed, backend) in cases {
            let probes = (0 ..< threads).compactMap { _ in
                GEMMRateProbe(rows: rows, inputs: inputs, outputs: outputs, precision: precision, packed: packed, backend: backend)
            }
            guard probes.count == threads else { continue }
            let seconds = medianSeconds(iterations: iterations, probes: probes)
            let name = packed ? "onednn-matmul" : backend.name
            print("mmret gemm \(precision.rawValue) batch=\(batch) threads=\(threads) gflop/s=\(String(format: "%.1f", flops / seconds / 1e9)) gemm=\(name) shape=\(rows)x\(outputs)x\(inputs)")
        }
    }

    /// Returns the median over `iterations` of the wall time of every thread running its
    /// own probe at once, after one untimed round that warms caches and creates oneDNN's
    /// kernels.
    static func medianSeconds(iterations: Int, probes: [GEMMRateProbe]) -> Double {
        var times: [Double] = []
        for iteration in 0 ... iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: probes.count) { thread in
                probes[thread].multiply()
            }
            if iteration > 0 {
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        return times.sorted()[times.count / 2]
    }
}
