#include "mmret_kernels.h"

#include <math.h>
#include <string.h>
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#define AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,f16c")))

static int has_avx512(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    }
    return cached;
}

int mmret_has_avx512_bf16(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = has_avx512() && __builtin_cpu_supports("avx512bf16");
    }
    return cached;
}

// MARK: conversions

static float half_to_float(uint16_t bits) {
    uint32_t sign = (uint32_t)(bits & 0x8000) << 16;
    uint32_t exponent = (bits >> 10) & 0x1f;
    uint32_t mantissa = bits & 0x3ff;
    uint32_t result;
    if (exponent == 0x1f) {
        result = sign | 0x7f800000 | (mantissa << 13);
    } else if (exponent != 0) {
        result = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        result = sign;
    } else {
        // Subnormal half: normalise the mantissa.
        int shift = 0;
        while ((mantissa & 0x400) == 0) {
            mantissa <<= 1;
            shift++;
        }
        result = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3ff) << 13);
    }
    float value;
    memcpy(&value, &result, 4);
    return value;
}

AVX512 static void f16_to_f32_avx512(const uint16_t *source, float *destination, size_t count) {
    size_t index = 0;
    for (; index + 16 <= count; index += 16) {
        __m256i half = _mm256_loadu_si256((const __m256i *)(source + index));
        _mm512_storeu_ps(destination + index, _mm512_cvtph_ps(half));
    }
    for (; index < count; index++) {
        destination[index] = half_to_float(source[index]);
    }
}

void mmret_f16_to_f32(const uint16_t *source, float *destination, size_t count) {
    if (has_avx512()) {
        f16_to_f32_avx512(source, destination, count);
        return;
    }
    for (size_t index = 0; index < count; index++) {
        destination[index] = half_to_float(source[index]);
    }
}

void mmret_bf16_to_f32(const uint16_t *source, float *destination, size_t count) {
    for (size_t index = 0; index < count; index++) {
        uint32_t bits = (uint32_t)source[index] << 16;
        memcpy(destination + index, &bits, 4);
    }
}

static uint16_t float_to_bf16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    if ((bits & 0x7fffffff) > 0x7f800000) {
        return (uint16_t)((bits >> 16) | 0x40);  // quiet NaN
    }
    bits += 0x7fff + ((bits >> 16) & 1);
    return (uint16_t)(bits >> 16);
}

AVX512_BF16 static void f32_to_bf16_avx512(const float *source, uint16_t *destination, size_t count) {
    size_t index = 0;
    for (; index + 16 <= count; index += 16) {
        __m256bh packed = _mm512_cvtneps_pbh(_mm512_loadu_ps(source + index));
        _mm256_storeu_si256((__m256i *)(destination + index), (__m256i)packed);
    }
    for (; index < count; index++) {
        destination[index] = float_to_bf16(source[index]);
    }
}

void mmret_f32_to_bf16(const float *source, uint16_t *destination, size_t count) {
    if (mmret_has_avx512_bf16()) {
        f32_to_bf16_avx512(source, destination, count);
        return;
    }
    for (size_t index = 0; index < count; index++) {
        destination[index] = float_to_bf16(source[index]);
    }
}

// MARK: layer norm

static void layer_norm_row_portable(const float *x, size_t columns, const float *gamma, const float *beta,
                                    float eps, float *y, uint16_t *y_bf16) {
    double sum = 0;
    for (size_t column = 0; column < columns; column++) sum += x[column];
    double mean = sum / (double)columns;
    double squares = 0;
    for (size_t column = 0; column < columns; column++) {
        double centred = x[column] - mean;
        squares += centred * centred;
    }
    float inverse = (float)(1.0 / sqrt(squares / (double)columns + eps));
    float meanFloat = (float)mean;
    for (size_t column = 0; column < columns; column++) {
        float value = (x[column] - meanFloat) * inverse * gamma[column] + beta[column];
        if (y) y[column] = value;
        if (y_bf16) y_bf16[column] = float_to_bf16(value);
    }
}

// Sums of 16 lanes in double, so that rows of thousands of values lose no precision
// against PyTorch's Welford reduction.
AVX512 static double sum_lanes(__m512 lanes) {
    __m512d low = _mm512_cvtps_pd(_mm512_castps512_ps256(lanes));
    __m512d high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lanes), 1)));
    return _mm512_reduce_add_pd(_mm512_add_pd(low, high));
}

AVX512_BF16 static void layer_norm_row_avx512(const float *x, size_t columns, const float *gamma, const float *beta,
                                              float eps, float *y, uint16_t *y_bf16, int bf16) {
    size_t whole = columns & ~(size_t)15;
    __m512 sum = _mm512_setzero_ps();
    for (size_t column = 0; column < whole; column += 16) {
        sum = _mm512_add_ps(sum, _mm512_loadu_ps(x + column));
    }
    double total = sum_lanes(sum);
    for (size_t column = whole; column < columns; column++) total += x[column];
    float mean = (float)(total / (double)columns);

    __m512 meanVector = _mm512_set1_ps(mean);
    __m512 squares = _mm512_setzero_ps();
    for (size_t column = 0; column < whole; column += 16) {
        __m512 centred = _mm512_sub_ps(_mm512_loadu_ps(x + column), meanVector);
        squares = _mm512_fmadd_ps(centred, centred, squares);
    }
    double squareTotal = sum_lanes(squares);
    for (size_t column = whole; column < columns; column++) {
        double centred = (double)x[column] - mean;
        squareTotal += centred * centred;
    }
    float inverse = (float)(1.0 / sqrt(squareTotal / (double)columns + eps));

    __m512 inverseVector = _mm512_set1_ps(inverse);
    for (size_t column = 0; column < whole; column += 16) {
        __m512 centred = _mm512_sub_ps(_mm512_loadu_ps(x + column), meanVector);
        __m512 value = _mm512_fmadd_ps(_mm512_mul_ps(centred, inverseVector), _mm512_loadu_ps(gamma + column),
                                       _mm512_loadu_ps(beta + column));
        if (y) _mm512_storeu_ps(y + column, value);
        if (y_bf16) {
            if (bf16) {
                _mm256_storeu_si256((__m256i *)(y_bf16 + column), (__m256i)_mm512_cvtneps_pbh(value));
            } else {
                float lanes[16];
                _mm512_storeu_ps(lanes, value);
                for (int lane = 0; lane < 16; lane++) y_bf16[column + lane] = float_to_bf16(lanes[lane]);
            }
        }
    }
    for (size_t column = whole; column < columns; column++) {
        float value = (x[column] - mean) * inverse * gamma[column] + beta[column];
        if (y) y[column] = value;
        if (y_bf16) y_bf16[column] = float_to_bf16(value);
    }
}

void mmret_layer_norm(const float *input, size_t rows, size_t columns,
                      const float *gamma, const float *beta, float eps,
                      float *output, uint16_t *output_bf16) {
    int vector = has_avx512();
    int bf16 = mmret_has_avx512_bf16();
    for (size_t row = 0; row < rows; row++) {
        const float *x = input + row * columns;
        float *y = output ? output + row * columns : NULL;
        uint16_t *y_bf16 = output_bf16 ? output_bf16 + row * columns : NULL;
        if (vector) {
            layer_norm_row_avx512(x, columns, gamma, beta, eps, y, y_bf16, bf16);
        } else {
            layer_norm_row_portable(x, columns, gamma, beta, eps, y, y_bf16);
        }
    }
}

// MARK: exponential

// exp(x) as 2^n * p(r), with n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2]
// and p the degree-7 Taylor polynomial, whose truncation error (below 1e-8 relative)
// is under one float ulp. Inputs are clamped to [-104, 88.7], so results saturate at
// zero and FLT_MAX instead of overflowing.
AVX512 static __m512 exp_avx512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.7f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// MARK: softmax

AVX512 static int softmax_avx512(float *row, size_t count) {
    __m512 negativeInfinity = _mm512_set1_ps(-INFINITY);
    __m512 maximumVector = negativeInfinity;
    size_t index = 0;
    for (; index + 16 <= count; index += 16) {
        maximumVector = _mm512_max_ps(maximumVector, _mm512_loadu_ps(row + index));
    }
    if (index < count) {
        __mmask16 tail = (__mmask16)((1u << (count - index)) - 1);
        maximumVector = _mm512_max_ps(maximumVector, _mm512_mask_loadu_ps(negativeInfinity, tail, row + index));
    }
    float maximum = _mm512_reduce_max_ps(maximumVector);
    if (maximum == -INFINITY) return 0;

    __m512 shift = _mm512_set1_ps(maximum);
    __m512 sum = _mm512_setzero_ps();
    for (index = 0; index < count; index += 16) {
        __mmask16 lanes = count - index >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (count - index)) - 1);
        __m512 x = _mm512_mask_loadu_ps(negativeInfinity, lanes, row + index);
        __mmask16 allowed = _mm512_cmp_ps_mask(x, negativeInfinity, _CMP_NEQ_OQ);
        __m512 probability = _mm512_maskz_mov_ps(allowed, exp_avx512(_mm512_sub_ps(x, shift)));
        sum = _mm512_add_ps(sum, probability);
        _mm512_mask_storeu_ps(row + index, lanes, probability);
    }
    __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (index = 0; index < count; index += 16) {
        __mmask16 lanes = count - index >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (count - index)) - 1);
        _mm512_mask_storeu_ps(row + index, lanes, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, row + index), inverse));
    }
    return 1;
}

int mmret_softmax(float *row, size_t count) {
    if (has_avx512()) return softmax_avx512(row, count);
    float maximum = -INFINITY;
    for (size_t index = 0; index < count; index++) maximum = row[index] > maximum ? row[index] : maximum;
    if (maximum == -INFINITY) return 0;
    float sum = 0;
    for (size_t index = 0; index < count; index++) {
        float probability = row[index] == -INFINITY ? 0 : expf(row[index] - maximum);
        row[index] = probability;
        sum += probability;
    }
    float inverse = 1 / sum;
    for (size_t index = 0; index < count; index++) row[index] *= inverse;
    return 1;
}

// MARK: bias and activation

AVX512 static void bias_activation_avx512(float *matrix, size_t rows, size_t columns, const float *bias, int activation) {
    __m512 minusAlpha = _mm512_set1_ps(-1.702f);
    __m512 one = _mm512_set1_ps(1.0f);
    for (size_t row = 0; row < rows; row++) {
        float *line = matrix + row * columns;
        for (size_t column = 0; column < columns; column += 16) {
            __mmask16 lanes = columns - column >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (columns - column)) - 1);
            __m512 x = _mm512_maskz_loadu_ps(lanes, line + column);
            if (bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(lanes, bias + column));
            if (activation == 1) {
                x = _mm512_div_ps(x, _mm512_add_ps(one, exp_avx512(_mm512_mul_ps(minusAlpha, x))));
            }
            _mm512_mask_storeu_ps(line + column, lanes, x);
        }
        if (activation == 2) {
            for (size_t column = 0; column < columns; column++) {
                float x = line[column];
                line[column] = 0.5f * x * (1 + erff(x * 0.70710678118654752f));
            }
        }
    }
}

void mmret_bias_activation(float *matrix, size_t rows, size_t columns, const float *bias, int activation) {
    if (has_avx512()) {
        bias_activation_avx512(matrix, rows, columns, bias, activation);
        return;
    }
    for (size_t row = 0; row < rows; row++) {
        float *line = matrix + row * columns;
        for (size_t column = 0; column < columns; column++) {
            float x = line[column] + (bias ? bias[column] : 0);
            if (activation == 1) x = x / (1 + expf(-1.702f * x));
            if (activation == 2) x = 0.5f * x * (1 + erff(x * 0.70710678118654752f));
            line[column] = x;
        }
    }
}

void mmret_add_row_vector(float *matrix, size_t rows, size_t columns, const float *vector) {
    mmret_bias_activation(matrix, rows, columns, vector, 0);
}
