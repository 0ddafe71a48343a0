/// The arithmetic a model computes in.
public enum Precision: String, Sendable, CaseIterable {
    /// Weights and activations in fp32 throughout: the reference path.
    case fp32
    /// bfloat16 weights and GEMM inputs with fp32 accumulation; layer norm, softmax,
    /// attention and the residual stream stay fp32. Needs a processor with AVX-512;
    /// AVX512-BF16 makes it fast.
    case bf16
}
