import Dispatch
import Foundation

/// The execution settings of the model's arithmetic: the GEMM backend and the number of
/// threads that the context splits GEMMs and element-wise kernels across.
public struct ComputeContext: Sendable {
    /// The library for the GEMMs on unpacked operands: attention's products, the patch
    /// embedding, the projections, and the encoder's linear layers where the model keeps
    /// them unpacked. Packed layers always run on oneDNN's matmul (see `WeightLayout`).
    public let gemm: any GEMMBackend
    public let threadCount: Int

    /// Creates a context. `threadCount` defaults to the number of active processors.
    public init(gemm: any GEMMBackend = ComputeContext.defaultBackend(), threadCount: Int? = nil) {
        self.gemm = gemm
        self.threadCount = max(1, threadCount ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Returns the backend that the `MMRET_GEMM` environment variable names ("openblas" or
    /// "onednn"), or else oneDNN. Its AVX-512 kernels outrun Debian's OpenBLAS, which some
    /// machines pin to its AVX2 Haswell kernels, on the benchmark in docs/benchmarks.md.
    public static func defaultBackend() -> any GEMMBackend {
        backend(named: ProcessInfo.processInfo.environment["MMRET_GEMM"] ?? "onednn") ?? OneDNNBackend()
    }

    /// Returns the backend called `name` ("onednn" or "openblas"), or nil for another name.
    public static func backend(named name: String) -> (any GEMMBackend)? {
        switch name {
        case "onednn": OneDNNBackend()
        case "openblas": OpenBLASBackend()
        default: nil
        }
    }

    /// Computes `body` on contiguous shards of `0..<count` items, one shard per thread,
    /// each with a single-threaded context, and stacks the results' rows in order.
    ///
    /// Data parallelism over the batch beats splitting each operation across threads,
    /// because the shards never synchronise, while split operations join after every GEMM
    /// and kernel. With fewer items than threads, `body` runs once on the whole range
    /// with this context, whose operations split their rows across the threads.
    public func stackingShards(of count: Int, _ body: (Range<Int>, ComputeContext) -> Matrix) -> Matrix {
        guard threadCount > 1, count >= threadCount else {
            return body(0 ..< count, self)
        }
        let shards = threadCount
        let ranges = (0 ..< shards).map { shard in count * shard / shards ..< count * (shard + 1) / shards }
        return stackingShards(ranges, body)
    }

    /// Computes `body` on each of `ranges`, one per thread at once, each with a
    /// single-threaded context, and stacks the results' rows in order. With a single
    /// range, `body` runs once with this context, whose operations split their rows
    /// across the threads.
    func stackingShards(_ ranges: [Range<Int>], _ body: (Range<Int>, ComputeContext) -> Matrix) -> Matrix {
        guard ranges.count > 1 else {
            return body(ranges.first ?? 0 ..< 0, self)
        }
        let single = ComputeContext(gemm: gemm, threadCount: 1)
        var results = [Matrix?](repeating: nil, count: ranges.count)
        results.withUnsafeMutableBufferPointer { buffer in
            let slots = UncheckedSendable(buffer.baseAddress!)
            withoutActuallyEscaping(body) { body in
                // Each shard writes only its own slot, and concurrentPerform returns after
                // all of them.
                let shared = UncheckedSendable(body)
                DispatchQueue.concurrentPerform(iterations: ranges.count) { shard in
                    slots.value[shard] = shared.value(ranges[shard], single)
                }
            }
        }

        let parts = results.compactMap { $0 }
        let columns = parts.first?.columns ?? 0
        return Matrix(rows: parts.reduce(0) { $0 + $1.rows }, columns: columns, values: parts.flatMap(\.values))
    }

    /// Computes `C = A · op(B) + beta · C` like `GEMMBackend.multiply`, with the rows of A
    /// and C split across the threads. Each thread multiplies its block of rows by the
    /// whole of B.
    public func multiplyRows(
        transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let operands = UncheckedSendable((a, b, c))
        // Each thread packs all of B, so thin blocks waste work. The 32-row floor is an
        // estimate, not a tuned value.
        parallelFor(m, minimumChunk: 32) { rows in
            let (a, b, c) = operands.value
            gemm.multiply(
                transposeA: false, transposeB: transposeB,
                m: rows.count, n: n, k: k,
                alpha: 1, a: a + rows.lowerBound * lda, lda: lda,
                b: b, ldb: ldb,
                beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc
            )
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
