import CBLAS

/// GEMM through OpenBLAS's CBLAS interface (Debian's libopenblas-dev, pthreads build).
public struct OpenBLASBackend: GEMMBackend {
    public init() {}

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

    public func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(count))
    }
}
