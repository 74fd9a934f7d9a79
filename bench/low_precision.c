/* Is the exact part of the gradient product cheaper in 8-bit integers? The positive statistics
 * h0^T v0 multiply two 0/1 matrices, so an integer product (oneDNN's u8 x s8 -> s32 GEMM, VNNI
 * instructions) gives exactly the same numbers as float32 sgemm. Debian's OpenBLAS 0.3.21 has no
 * cblas_sbgemm (bfloat16), so oneDNN is the library that can use this CPU's low-precision units.
 *
 * For the trainer's shapes (batch B, 784 visible, H hidden), one thread, it times:
 *   fused     what rbm does: [h0; hnp]^T [v0; -vn], one sgemm with K = 2B
 *   positive  h0^T v0 alone in float32 sgemm (K = B)
 *   int8      h0^T v0 by dnnl_gemm_u8s8s32, plus turning the s32 counts into floats
 *   negative  hnp^T (-vn) in float32 sgemm, accumulated onto the positive part (beta = 1)
 *   popcount  h0^T v0 as bit counts, with no library: each column of h0 and of v0 packed into
 *             64-bit words (one bit per batch row), then count(h_i AND v_j) with AVX-512's
 *             VPOPCNTQ, 8 visible units at a time; the time includes the packing
 * A split path would cost int8 (or popcount) + negative instead of fused; its sums are added in another order,
 * so the result would differ from the fused product in the last bits. It also checks that the
 * int8 counts equal the float32 positive product exactly.
 *
 * Built always; the oneDNN part only where libdnnl-dev is installed (RBM_HAVE_DNNL).
 *
 * usage: bench_low_precision [hidden] [batch] [repeats]   (medians in microseconds) */
#include <cblas.h>
#ifdef RBM_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif
#if defined(__AVX512VPOPCNTDQ__) && defined(__AVX512DQ__)
#include <immintrin.h>
#endif
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"
#include "pcg32.h"

static double median(double *values, int n)
{
    bench_sort(values, n);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

/* bits[w * columns + c]: rows [64 w, 64 w + 64) of column c of a rows x columns 0/1 matrix */
static void pack_columns(uint64_t *bits, const float *matrix, int rows, int columns)
{
    const int words = (rows + 63) / 64;
    memset(bits, 0, sizeof(uint64_t) * (size_t)words * (size_t)columns);
    for (int r = 0; r < rows; r++) {
        uint64_t *word = bits + (size_t)(r / 64) * columns, bit = (uint64_t)1 << (r % 64);
        const float *row = matrix + (size_t)r * columns;
        for (int c = 0; c < columns; c++)
            word[c] |= row[c] != 0.0f ? bit : 0;
    }
}

/* out[i][j] = number of rows where hidden column i and visible column j are both 1 */
static void popcount_product(float *out, const uint64_t *hidden_bits, const uint64_t *visible_bits,
                             int words, int H, int V)
{
    for (int i = 0; i < H; i++) {
        int j = 0;
#if defined(__AVX512VPOPCNTDQ__) && defined(__AVX512DQ__)
        for (; j + 8 <= V; j += 8) {
            __m512i count = _mm512_setzero_si512();
            for (int w = 0; w < words; w++)
                count = _mm512_add_epi64(
                    count, _mm512_popcnt_epi64(_mm512_and_si512(
                               _mm512_set1_epi64((long long)hidden_bits[(size_t)w * H + i]),
                               _mm512_loadu_si512(visible_bits + (size_t)w * V + j))));
            _mm256_storeu_ps(out + (size_t)i * V + j, _mm512_cvtepi64_ps(count));
        }
#endif
        for (; j < V; j++) {
            int count = 0;
            for (int w = 0; w < words; w++)
                count += __builtin_popcountll(hidden_bits[(size_t)w * H + i] &
                                              visible_bits[(size_t)w * V + j]);
            out[(size_t)i * V + j] = (float)count;
        }
    }
}

int main(int argc, char **argv)
{
    const int H = argc > 1 ? atoi(argv[1]) : 300, B = argc > 2 ? atoi(argv[2]) : 100;
    const int repeats = argc > 3 ? atoi(argv[3]) : 200, V = 784;
    if (H < 1 || B < 1 || repeats < 1) {
        fprintf(stderr, "usage: bench_low_precision [hidden] [batch] [repeats]\n");
        return 2;
    }
    omp_set_num_threads(1); /* oneDNN's GEMM runs on OpenMP: one thread, as each rbm worker */
    /* [h0; hnp] (2B x H) and [v0; -vn] (2B x V), as the trainer holds them */
    float *hidden = malloc(sizeof(float) * 2 * B * H), *visible = malloc(sizeof(float) * 2 * B * V);
    uint8_t *h0_bytes = malloc((size_t)B * H);
    int8_t *v0_bytes = malloc((size_t)B * V);
    float *fused = malloc(sizeof(float) * H * V), *split = malloc(sizeof(float) * H * V);
    float *positive = malloc(sizeof(float) * H * V);
    int32_t *counts = malloc(sizeof(int32_t) * H * V);
    double *times = malloc(sizeof(double) * repeats);
    if (!hidden || !visible || !h0_bytes || !v0_bytes || !fused || !split || !positive ||
        !counts || !times)
        return 1;
    Pcg32 rng;
    pcg32_seed(&rng, 7, 1);
    for (int i = 0; i < B * H; i++) { /* h0 about half ones, hnp probabilities */
        h0_bytes[i] = pcg32_uniform_reference(&rng) < 0.5f;
        hidden[i] = h0_bytes[i];
        hidden[B * H + i] = pcg32_uniform_reference(&rng);
    }
    for (int i = 0; i < B * V; i++) { /* v0 with Fashion-MNIST's 30% ones; -vn */
        v0_bytes[i] = (int8_t)(pcg32_uniform_reference(&rng) < 0.3f);
        visible[i] = v0_bytes[i];
        visible[B * V + i] = pcg32_uniform_reference(&rng) < 0.3f ? -1.0f : 0.0f;
    }
    const float scale = 1.0f / (float)B;
    double fused_us, positive_us, negative_us, pack_us, popcount_us;
#define TIME(result, statement)                                                                   \
    do {                                                                                          \
        for (int r = 0; r < repeats; r++) {                                                       \
            double start = bench_now();                                                                 \
            statement;                                                                            \
            times[r] = (bench_now() - start) * 1e6;                                                     \
        }                                                                                         \
        result = median(times, repeats);                                                          \
    } while (0)
    TIME(fused_us, cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, V, 2 * B, scale, hidden,
                               H, visible, V, 0.0f, fused, V));
    TIME(positive_us, cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, V, B, 1.0f, hidden,
                                  H, visible, V, 0.0f, positive, V));
    const int words = (B + 63) / 64;
    uint64_t *hidden_bits = malloc(sizeof(uint64_t) * words * H);
    uint64_t *visible_bits = malloc(sizeof(uint64_t) * words * V);
    float *bit_counts = malloc(sizeof(float) * H * V);
    if (!hidden_bits || !visible_bits || !bit_counts)
        return 1;
    TIME(pack_us, (pack_columns(hidden_bits, hidden, B, H), pack_columns(visible_bits, visible, B, V)));
    TIME(popcount_us, popcount_product(bit_counts, hidden_bits, visible_bits, words, H, V));
    const int popcount_exact = memcmp(bit_counts, positive, sizeof(float) * H * V) == 0;
#ifdef RBM_HAVE_DNNL
    const int32_t no_offset = 0;
    double int8_us, convert_us;
    dnnl_status_t status = dnnl_success;
    TIME(int8_us, status = dnnl_gemm_u8s8s32('T', 'N', 'F', H, V, B, 1.0f, h0_bytes, H, 0,
                                             v0_bytes, V, 0, 0.0f, counts, V, &no_offset));
    if (status != dnnl_success) {
        fprintf(stderr, "dnnl_gemm_u8s8s32 failed: status %d\n", (int)status);
        return 1;
    }
    TIME(convert_us, for (int i = 0; i < H * V; i++) split[i] = (float)counts[i] * scale);
#else
    for (int i = 0; i < H * V; i++) {
        counts[i] = (int32_t)bit_counts[i];
        split[i] = bit_counts[i] * scale;
    }
#endif
    TIME(negative_us, cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, V, B, scale,
                                  hidden + B * H, H, visible + B * V, V, 1.0f, split, V));
    int exact = 1;
    for (int i = 0; i < H * V; i++)
        exact &= (float)counts[i] == positive[i];
    /* the timing loop added the negative part `repeats` times over: the split result, once */
    for (int i = 0; i < H * V; i++)
        split[i] = (float)counts[i] * scale;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, V, B, scale, hidden + B * H, H,
                visible + B * V, V, 1.0f, split, V);
    double largest_difference = 0;
    int64_t different = 0;
    for (int i = 0; i < H * V; i++) {
        double difference = (double)split[i] - (double)fused[i];
        difference = difference < 0 ? -difference : difference;
        different += split[i] != fused[i];
        largest_difference = difference > largest_difference ? difference : largest_difference;
    }
    const double popcount_total_us = pack_us + popcount_us;
    printf("hidden %d, batch %d, visible %d, 1 thread, median of %d (microseconds)\n", H, B, V,
           repeats);
    printf("  fused float32 gradient product (K = 2B)    %8.1f\n", fused_us);
    printf("  positive part h0^T v0, float32 sgemm      %8.1f\n", positive_us);
#ifdef RBM_HAVE_DNNL
    printf("  positive part, int8 GEMM (oneDNN)         %8.1f  (%.2fx the float32 part)\n",
           int8_us, positive_us / int8_us);
    printf("    counts to floats                        %8.1f\n", convert_us);
#else
    printf("  positive part, int8 GEMM (oneDNN)          not built (no libdnnl-dev)\n");
#endif
    printf("  positive part, popcount (no library)      %8.1f  (%.2fx the float32 part)\n",
           popcount_total_us, positive_us / popcount_total_us);
    printf("    of which packing the bits               %8.1f\n", pack_us);
    printf("  negative part hnp^T (-vn), float32 sgemm  %8.1f\n", negative_us);
#ifdef RBM_HAVE_DNNL
    const double split_us = int8_us + convert_us + negative_us;
    printf("  split path: int8 + convert + negative      %8.1f  (%.2fx the fused product)\n",
           split_us, fused_us / split_us);
#endif
    printf("  split path: popcount + negative            %8.1f  (%.2fx the fused product)\n",
           popcount_total_us + negative_us, fused_us / (popcount_total_us + negative_us));
#ifdef RBM_HAVE_DNNL
    printf("  int8 counts equal the float32 product: %s\n", exact ? "yes, exactly" : "NO");
#endif
    printf("  popcount counts equal the float32 product: %s\n",
           popcount_exact ? "yes, exactly" : "NO");
    printf("  split path against fused: %lld of %d values differ, by at most %.3g\n",
           (long long)different, H * V, largest_difference);
    return exact && popcount_exact ? 0 : 1;
}
