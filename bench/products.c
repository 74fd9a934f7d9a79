/*
 * rbm's own products (src/gemm.c) against single-threaded OpenBLAS sgemm on the trainer's
 * shapes, one core, operands in cache as in a batch:
 *   forward    a chunk's v W^T: 50 x H x V; OpenBLAS on W (NoTrans, Trans), rbm_product_nn on
 *              a W^T (rbm_transpose, timed on its own: once per batch, for 2 to 4 products)
 *   reverse    a chunk's h W: 50 x V x H, both NoTrans
 *   gradient   a strip's velocity update: H x V/2 x 2B, Trans x NoTrans, beta 0.9
 * GFLOP/s and microseconds per call, median of the rounds; 0/1 samples as the left operands.
 * OpenBLAS picks its kernels here without rbm's switch to SkylakeX (src/cli/main.c): on a CPU
 * it does not know, set OPENBLAS_CORETYPE (the header line names the core it used).
 *
 *   bench_products [HIDDEN [ROUNDS [BATCH]]]     (defaults: 300, 11, 100)
 */
#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "timing.h"
#include "gemm.h"
#include "pcg32.h"

enum { ROWS = 50, VISIBLE = 784, CALLS = 200 };

static float *floats(size_t n, bool binary, Pcg32 *rng)
{
    float *values = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!values) {
        fprintf(stderr, "bench_products: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        const float u = pcg32_uniform_reference(rng);
        values[i] = binary ? (u < 0.5f ? 1.0f : 0.0f) : 0.02f * u - 0.01f;
    }
    return values;
}

typedef enum { FORWARD_BLAS, FORWARD_OWN, TRANSPOSE, REVERSE_BLAS, REVERSE_OWN, GRADIENT_BLAS,
               GRADIENT_OWN, KINDS } Kind;
static const char *const names[KINDS] = {
    "forward   OpenBLAS", "forward   own", "W^T (rbm_transpose)", "reverse   OpenBLAS",
    "reverse   own", "gradient  OpenBLAS", "gradient  own"};

int main(int argc, char **argv)
{
    const int64_t H = argc > 1 ? atoll(argv[1]) : 300;
    const int rounds = argc > 2 ? atoi(argv[2]) : 11;
    const int64_t batch = argc > 3 ? atoll(argv[3]) : 100;
    if (H < 1 || H > 8192 || rounds < 1 || rounds > 1001 || batch < 1 || batch > 10000) {
        fprintf(stderr, "usage: bench_products [HIDDEN (1-8192) [ROUNDS (1-1001) "
                        "[BATCH (1-10000)]]]\n");
        return 2;
    }
    const int64_t V = VISIBLE, T = rbm_product_stride(H), strip = V / 2;
    Pcg32 rng;
    pcg32_seed(&rng, 7, 7);
    float *weights = floats((size_t)(H * V), false, &rng);
    float *transposed = floats((size_t)(V * T), false, &rng);
    float *visible = floats((size_t)(ROWS * V), true, &rng);
    float *hidden = floats((size_t)(ROWS * H), true, &rng);
    float *out = floats((size_t)(ROWS * (V > H ? V : H)), false, &rng);
    float *stats_hidden = floats((size_t)(2 * batch * H), true, &rng);
    float *stats_visible = floats((size_t)(2 * batch * V), true, &rng);
    float *velocity = floats((size_t)(H * V), false, &rng);
    rbm_transpose(transposed, T, weights, V, H, V);
    static double seconds[KINDS][1001];
    for (int round = 0; round < rounds; round++)
        for (Kind kind = 0; kind < KINDS; kind++) {
            const double start = bench_now();
            for (int call = 0; call < CALLS; call++) {
                switch (kind) {
                case FORWARD_BLAS:
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ROWS, (int)H, (int)V, 1.0f,
                                visible, (int)V, weights, (int)V, 0.0f, out, (int)H);
                    break;
                case FORWARD_OWN:
                    rbm_product_nn(out, H, 1.0f, visible, V, transposed, T, ROWS, H, V);
                    break;
                case TRANSPOSE:
                    rbm_transpose(transposed, T, weights, V, H, V);
                    break;
                case REVERSE_BLAS:
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ROWS, (int)V, (int)H,
                                1.0f, hidden, (int)H, weights, (int)V, 0.0f, out, (int)V);
                    break;
                case REVERSE_OWN:
                    rbm_product_nn(out, V, 1.0f, hidden, H, weights, V, ROWS, V, H);
                    break;
                case GRADIENT_BLAS:
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)H, (int)strip,
                                2 * batch, 0.01f, stats_hidden, (int)H, stats_visible, (int)V,
                                0.9f, velocity, (int)V);
                    break;
                case GRADIENT_OWN:
                    rbm_product_tn(velocity, V, 0.9f, 0.01f, stats_hidden, H, stats_visible, V, H,
                                   strip, 2 * batch);
                    break;
                default:
                    break;
                }
            }
            seconds[kind][round] = (bench_now() - start) / CALLS;
        }
    printf("hidden %lld, visible %lld, batch %lld, %d rounds of %d calls, OpenBLAS core %s, "
           "own products %s\n",
           (long long)H, (long long)V, (long long)batch, rounds, CALLS, openblas_get_corename(),
           RBM_PRODUCTS_AVX512 ? "AVX-512"
           : RBM_PRODUCTS_AVX2 ? "AVX2"
                               : "= OpenBLAS (neither AVX-512 nor AVX2)");
    printf("%-22s %10s %9s\n", "product", "us/call", "GFLOP/s");
    const double flops[KINDS] = {2.0 * ROWS * H * V, 2.0 * ROWS * H * V, 0, 2.0 * ROWS * V * H,
                                 2.0 * ROWS * V * H, 2.0 * H * strip * 2 * batch,
                                 2.0 * H * strip * 2 * batch};
    for (Kind kind = 0; kind < KINDS; kind++) {
        bench_sort(seconds[kind], rounds);
        const double median = seconds[kind][rounds / 2];
        if (flops[kind] > 0)
            printf("%-22s %10.1f %9.1f\n", names[kind], median * 1e6, flops[kind] / median / 1e9);
        else
            printf("%-22s %10.1f %9s\n", names[kind], median * 1e6, "-");
    }
    free(weights);
    free(transposed);
    free(visible);
    free(hidden);
    free(out);
    free(stats_hidden);
    free(stats_visible);
    free(velocity);
    return 0;
}
