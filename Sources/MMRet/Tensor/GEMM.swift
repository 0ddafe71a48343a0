/// A single-precision general matrix multiply, the one operation that carries almost all
/// of the model's arithmetic. Implementations wrap a BLAS library; the rest of the
/// package reaches GEMM only through this protocol.
///
/// Every call runs on the calling thread alone: `ComputeContext` splits the work across
/// threads itself, so that no library thread pool competes with it.
public protocol GEMMBackend: Sendable {
    /// A short name for benchmarks and `mmret info` (for example "openblas").
    var name: String { get }

    /// Computes `C = alpha * op(A) * op(B) + beta * C` on row-major matrices, where `op`
    /// transposes when the flag is set. `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is
    /// `m × n`; `lda`, `ldb` and `ldc` are the row strides (in elements) of the matrices
    /// as stored.
    func multiply(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int
    )

}
