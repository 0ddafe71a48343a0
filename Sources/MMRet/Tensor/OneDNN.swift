import CDNNL

/// GEMM through oneDNN's `dnnl_sgemm` (Debian's libdnnl-dev, OpenMP build), whose
/// just-in-time kernels use AVX-512 where the processor has it.
///
/// Each multiply sets the calling thread's OpenMP thread count to one, and the setting
/// stays on that thread afterwards. A host application that runs its own OpenMP code on
/// the same thread must set its count again.
public struct OneDNNBackend: GEMMBackend {
    public init() {}

    public var name: String { "onednn" }

    public func multiply(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // OpenMP's thread count is a per-thread setting that new threads inherit from the
        // process default (all cores), and setting it is a store to thread-local data.
        omp_set_num_threads(1)

        // dnnl_sgemm is row-major. It fails only on invalid arguments, such as a leading
        // dimension smaller than a row. The model passes shapes checked when the weights
        // load, so a failure here is a bug in this package.
        let status = dnnl_sgemm(
            transposeA ? 84 : 78, transposeB ? 84 : 78,  // "T" or "N"
            dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k),
            alpha, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb),
            beta, c, dnnl_dim_t(ldc)
        )
        precondition(status == dnnl_success, "dnnl_sgemm failed with status \(status.rawValue) for m=\(m) n=\(n) k=\(k)")
    }

}
