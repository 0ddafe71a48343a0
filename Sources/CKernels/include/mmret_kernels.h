// Element-wise and row-wise kernels of the model in C, so that they can use AVX-512
// where the processor has it. Each function checks the processor once and otherwise
// runs a portable loop with the same results up to rounding.
#ifndef MMRET_KERNELS_H
#define MMRET_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Returns 1 when the processor has AVX512-BF16 (the bf16 dot-product instructions).
int mmret_has_avx512_bf16(void);

/// Widens IEEE half-precision values to float32 (exact).
void mmret_f16_to_f32(const uint16_t *source, float *destination, size_t count);

/// Widens bfloat16 values to float32 (exact).
void mmret_bf16_to_f32(const uint16_t *source, float *destination, size_t count);

/// Rounds float32 values to bfloat16, to nearest with ties to even; NaN stays NaN.
void mmret_f32_to_bf16(const float *source, uint16_t *destination, size_t count);

/// Normalises each of `rows` rows of `columns` values (stride `columns`) to zero mean
/// and unit variance (biased), then scales by `gamma` and shifts by `beta`. Writes the
/// result to `output` when it is not NULL and its bfloat16 rounding to `output_bf16`
/// when that is not NULL.
void mmret_layer_norm(const float *input, size_t rows, size_t columns,
                      const float *gamma, const float *beta, float eps,
                      float *output, uint16_t *output_bf16);

/// Replaces `row[0 ..< count]` by its softmax. Entries equal to -infinity get exactly
/// zero. Returns 0, leaving the row as it was, when every entry is -infinity.
int mmret_softmax(float *row, size_t count);

/// Adds `bias` (one value per column, may be NULL) to each row of the row-major matrix,
/// then applies the activation: 0 none, 1 quick GELU `x * sigmoid(1.702 x)`,
/// 2 exact GELU `0.5 x (1 + erf(x / sqrt 2))`.
void mmret_bias_activation(float *matrix, size_t rows, size_t columns,
                           const float *bias, int activation);

/// Adds `vector` to each row of the row-major matrix.
void mmret_add_row_vector(float *matrix, size_t rows, size_t columns, const float *vector);

#endif
