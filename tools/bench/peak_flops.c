// Measures the peak arithmetic rate of one core: AVX-512 fp32 fused multiply-adds and
// AVX512-BF16 dot products (vdpbf16ps) on twelve independent register chains, enough to
// hide the instructions' latency. Run one copy per core at once to see the rate of all
// cores together, for example with two cores:
//
//   gcc -O2 -march=native -o /tmp/peak_flops tools/bench/peak_flops.c
//   /tmp/peak_flops & /tmp/peak_flops; wait
//
// Each copy prints GFLOP/s counting a fused multiply-add as 2 operations, and a bf16 dot
// product of two pairs as 4.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec * 1e-9;
}

#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
// Keeps the compiler from merging or dropping the chains.
#define OPAQUE() __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), \
                                        "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11))

int main(void) {
    const long iterations = 300000000;
    __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-7f);
#define DECLARE(i) __m512 a##i = _mm512_set1_ps(i);
    CHAINS(DECLARE)
#define SUM(i) total += _mm512_reduce_add_ps(a##i);

    double start = seconds();
    for (long i = 0; i < iterations; i++) {
#define FMA(i) a##i = _mm512_fmadd_ps(a##i, b, c);
        CHAINS(FMA)
        OPAQUE();
    }
    double elapsed = seconds() - start;
    float total = 0;
    CHAINS(SUM)
    printf("fp32 FMA: %.1f GFLOP/s (checksum %g)\n", iterations * 12.0 * 32 / elapsed / 1e9, total);

    __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80);  // bf16 1.0
#define ZERO(i) a##i = _mm512_setzero_ps();
    CHAINS(ZERO)
    start = seconds();
    for (long i = 0; i < iterations; i++) {
#define DOT(i) a##i = _mm512_dpbf16_ps(a##i, x, x);
        CHAINS(DOT)
        OPAQUE();
    }
    elapsed = seconds() - start;
    total = 0;
    CHAINS(SUM)
    printf("bf16 dot product: %.1f GFLOP/s (checksum %g)\n", iterations * 12.0 * 64 / elapsed / 1e9, total);
    return 0;
}
