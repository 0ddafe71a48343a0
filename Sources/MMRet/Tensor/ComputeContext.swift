import Dispatch
import Foundation

/// Where the model's arithmetic runs: the GEMM backend and the number of threads used by
/// both the backend and the element-wise kernels.
public struct ComputeContext: Sendable {
    public let gemm: any GEMMBackend
    public let threadCount: Int

    /// Creates a context and sets the backend's thread count. `threadCount` defaults to
    /// the number of active processors.
    public init(gemm: any GEMMBackend = ComputeContext.defaultBackend(), threadCount: Int? = nil) {
        let count = max(1, threadCount ?? ProcessInfo.processInfo.activeProcessorCount)
        self.gemm = gemm
        self.threadCount = count
        gemm.setThreadCount(count)
    }

    /// The backend named by the `MMRET_GEMM` environment variable ("openblas" or
    /// "onednn"), or oneDNN, whose AVX-512 kernels outrun Debian's OpenBLAS (pinned to its
    /// AVX2 Haswell kernels on some machines) on the benchmark in docs/benchmarks.md.
    public static func defaultBackend() -> any GEMMBackend {
        switch ProcessInfo.processInfo.environment["MMRET_GEMM"] {
        case "openblas": OpenBLASBackend()
        default: OneDNNBackend()
        }
    }

    /// Runs `body` over `0..<count` split into contiguous chunks, one per thread. Each
    /// call of `body` receives a half-open range and must touch only the rows it owns.
    public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threadCount, max(1, count / max(1, minimumChunk)))
        if chunks == 1 {
            body(0 ..< count)
            return
        }
        // Dispatch requires a Sendable closure. The chunks are disjoint and the call
        // returns only after all of them, so sharing `body` (and the buffers it captures)
        // across the worker threads is safe.
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = count * chunk / chunks
                let end = count * (chunk + 1) / chunks
                shared.value(start ..< end)
            }
        }
    }
}

/// A value handed to other threads under a guarantee the compiler cannot check; each use
/// states why it is safe.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}
