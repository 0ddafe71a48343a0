import CBLAS

/// GEMM through OpenBLAS's CBLAS interface (Debian's libopenblas-dev, pthreads build).
///
/// NOTE: if the system selects Debian's OpenMP build of OpenBLAS instead, it may follow
/// each thread's OpenMP setting rather than the process-wide count of one, and split
/// GEMMs across threads again. That build has not been tested.
public struct OpenBLASBackend: GEMMBackend {
    /// OpenBLAS's thread count is process-wide; one is set once, before the first multiply.
    private static let singleThreaded: Void = openblas_set_num_threads(1)

    public init() {
        Self.singleThreaded
    }

    public var name: String { "openblas" }

    public func multiply(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc)
        )
    }

}
