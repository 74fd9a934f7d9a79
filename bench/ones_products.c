/*
 * The products with 0/1 samples as sums of the ones (src/product_ones.c) against rbm's dense
 * products (src/gemm.c, gemm_avx2.c) on one strip of split = hidden: 150 hidden units x 784
 * visible, a batch of 100 (784 x 300 at 2 strips), one core, operands in cache:
 *   forward    v W_s^T: dense on W_s^T (rbm_transpose), sums on W_s packed in panels
 *   reverse    h W_s: dense, sums on W_s's columns packed in panels
 *   gradient   the velocity step [h0; hnp]^T [v0; -vn]: dense (2B deep), with h0^T v0 as bit
 *              counts (rbm_product_tn_counted), and without -vn's zero terms
 *              (rbm_gradient_ones, counts from the bits or from v0's bytes)
 * Microseconds per call, median of the rounds, and whether the results are the same bytes.
 * The samples are uniform at the given shares of ones (the visible samples' and the hidden
 * ones'); real images cluster their ones, which the lists' groups (longest first) reward.
 *
 *   bench_ones [VISIBLE_SHARE [HIDDEN_SHARE [ROUNDS]]]     (defaults: 0.29, 0.07, 11)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"
#include "gemm.h"
#include "kernels.h"
#include "pcg32.h"
#include "product_ones.h"

enum { B = 100, V = 784, H = 150, CALLS = 20, MAX_ROUNDS = 101 };

static void *buffer(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "bench_ones: out of memory\n");
        exit(1);
    }
    memset(p, 0, (bytes + 63) / 64 * 64);
    return p;
}

/* The last three are parts of the sums' calls above them, timed alone: what every worker of
 * split = hidden does with the whole batch's samples, whatever its strip's width */
typedef enum { FORWARD_DENSE, FORWARD_SUMS, REVERSE_DENSE, REVERSE_SUMS, GRADIENT_DENSE,
               GRADIENT_COUNTED, GRADIENT_SUMS, ROW_LISTS, BYTE_BITS, COLUMN_LISTS,
               KINDS } Kind;
static const char *const names[KINDS] = {
    "forward   dense (with W^T)", "forward   sums (lists, panels)", "reverse   dense",
    "reverse   sums (lists, panels)", "gradient  dense", "gradient  bit counts, then dense",
    "gradient  bit counts, then sums", "  part: v's row lists (of bytes)",
    "  part: v's bits (of bytes)", "  part: vn's column lists (of bits)"};

int main(int argc, char **argv)
{
    const double visible_share = argc > 1 ? atof(argv[1]) : 0.29;
    const double hidden_share = argc > 2 ? atof(argv[2]) : 0.07;
    int rounds = argc > 3 ? atoi(argv[3]) : 11;
    rounds = rounds < 1 ? 1 : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
    const int64_t byte_stride = (V + 63) / 64 * 64, hidden_stride = H + 10;
    const int64_t transposed_stride = rbm_product_stride(H), words = (B + 63) / 64;
    Pcg32 rng;
    pcg32_seed(&rng, 12, 12);
    /* the strip's W_s; [v0; vn] as bytes and as [v0; -vn] floats; [h0; hnp] */
    float *weights = buffer(sizeof(float) * H * V);
    for (int64_t i = 0; i < H * V; i++)
        weights[i] = 0.02f * pcg32_uniform_reference(&rng) - 0.01f;
    uint8_t *bytes = buffer((size_t)(2 * B * byte_stride));
    float *samples = buffer(sizeof(float) * 2 * B * V);
    for (int64_t i = 0; i < 2 * B; i++)
        for (int64_t k = 0; k < V; k++) {
            bytes[i * byte_stride + k] = pcg32_uniform_reference(&rng) < visible_share;
            samples[i * V + k] = (i < B ? 1.0f : -1.0f) * bytes[i * byte_stride + k];
        }
    float *hidden = buffer(sizeof(float) * 2 * B * hidden_stride);
    for (int64_t i = 0; i < 2 * B * hidden_stride; i++) {
        const float u = pcg32_uniform_reference(&rng);
        hidden[i] = i >= B * hidden_stride ? u : u < hidden_share ? 1.0f : 0.0f;
    }
    /* what the kernels read besides: W_s^T, panels, lists, bits */
    float *transposed = buffer(sizeof(float) * V * transposed_stride);
    float *panels = buffer(sizeof(float) * (size_t)rbm_panel_floats(H, V));
    float *row_panels = buffer(sizeof(float) * (size_t)rbm_panel_floats(V, H));
    float *probability_panels = buffer(sizeof(float) * (size_t)rbm_panel_floats(H, B));
    float *staging = buffer(sizeof(float) * V * 8);
    uint64_t *hidden_bits = buffer(sizeof(uint64_t) * (size_t)(words * H));
    uint64_t *visible_bits = buffer(sizeof(uint64_t) * (size_t)(words * V));
    uint64_t *reconstruction_bits = buffer(sizeof(uint64_t) * (size_t)(words * V));
    RbmOnes rows, hidden_rows, columns;
    if (rbm_ones_new(&rows, B, V) || rbm_ones_new(&hidden_rows, B, H) ||
        rbm_ones_new(&columns, V, B)) {
        fprintf(stderr, "bench_ones: out of memory\n");
        return 1;
    }
    float *out[KINDS];
    for (int k = 0; k < KINDS; k++)
        out[k] = buffer(sizeof(float) * H * V > sizeof(float) * B * V ? sizeof(float) * H * V
                                                                        : sizeof(float) * B * V);
    double seconds[KINDS][MAX_ROUNDS];
    const RbmStepRule rule = {0.9f, 1.0f / B, 0.0f, 0.0f};
    for (int round = 0; round < rounds; round++)
        for (int k = 0; k < KINDS; k++) {
            if (k >= GRADIENT_DENSE) /* the same velocity before each kind's calls */
                memset(out[k], 0, sizeof(float) * H * V);
            const double start = bench_now();
            for (int call = 0; call < CALLS; call++) {
                switch ((Kind)k) {
                case FORWARD_DENSE: /* W^T once per batch, for two products: half of it here */
                    if (call % 2 == 0)
                        rbm_transpose(transposed, transposed_stride, weights, V, H, V);
                    rbm_product_nn(out[k], H, 1.0f, samples, V, transposed, transposed_stride, B,
                                   H, V);
                    break;
                case FORWARD_SUMS:
                    if (call % 2 == 0)
                        rbm_pack_panels(panels, weights, V, H, V);
                    rbm_ones_lists(&rows, bytes, byte_stride, B, V);
                    rbm_product_ones(out[k], H, 1.0f, 1.0f, &rows, panels, H);
                    break;
                case REVERSE_DENSE:
                    rbm_product_nn(out[k], V, 1.0f, hidden, hidden_stride, weights, V, B, V, H);
                    break;
                case REVERSE_SUMS:
                    if (call % 2 == 0) /* once per batch for a product or two */
                        rbm_pack_row_panels(row_panels, weights, V, H, V);
                    rbm_ones_lists_of_floats(&hidden_rows, hidden, hidden_stride, B, H);
                    rbm_product_ones(out[k], V, 1.0f, 1.0f, &hidden_rows, row_panels, V);
                    break;
                case GRADIENT_DENSE:
                    rbm_product_tn(out[k], V, 0.9f, 1.0f / B, hidden, hidden_stride, samples, V,
                                   H, V, 2 * B);
                    break;
                case GRADIENT_COUNTED:
                case GRADIENT_SUMS:
                    rbm_pack_sample_bits(hidden_bits, hidden, hidden_stride, B, H);
                    rbm_pack_byte_bits(visible_bits, bytes, byte_stride, B, V);
                    if (k == GRADIENT_COUNTED) {
                        rbm_product_tn_counted(out[k], V, 0.9f, 1.0f / B, hidden_bits, H,
                                               visible_bits, V, words,
                                               hidden + B * hidden_stride, hidden_stride,
                                               samples + B * V, V, H, V, B);
                        break;
                    }
                    rbm_pack_byte_bits(reconstruction_bits, bytes + B * byte_stride, byte_stride,
                                       B, V);
                    rbm_ones_lists_of_bits(&columns, reconstruction_bits, V, B);
                    rbm_pack_row_panels(probability_panels, hidden + B * hidden_stride,
                                        hidden_stride, B, H);
                    rbm_gradient_ones(out[k], NULL, V, &rule, hidden_bits, visible_bits, bytes,
                                      byte_stride, words, &columns, probability_panels, H, V,
                                      staging);
                    break;
                case ROW_LISTS:
                    rbm_ones_lists(&rows, bytes, byte_stride, B, V);
                    break;
                case BYTE_BITS:
                    rbm_pack_byte_bits(visible_bits, bytes, byte_stride, B, V);
                    break;
                case COLUMN_LISTS:
                    rbm_ones_lists_of_bits(&columns, reconstruction_bits, V, B);
                    break;
                case KINDS:
                    break;
                }
            }
            seconds[k][round] = (bench_now() - start) / CALLS;
        }
    printf("bench_ones: a strip of %d hidden x %d visible, batch %d; %.0f%% of the visible "
           "samples ones, %.0f%% of the hidden; median of %d rounds of %d calls\n",
           H, V, B, 100 * visible_share, 100 * hidden_share, rounds, CALLS);
    if (!RBM_PRODUCT_ONES || !RBM_PRODUCT_TN_COUNTED)
        printf("  (this build has not the AVX2 forms of every kernel: plain C stands in)\n");
    for (int k = 0; k < KINDS; k++) {
        bench_sort(seconds[k], rounds);
        printf("  %-36s %8.1f us\n", names[k], 1e6 * seconds[k][rounds / 2]);
    }
    const size_t forward = sizeof(float) * B * H, reverse = sizeof(float) * B * V;
    const size_t gradient = sizeof(float) * H * V;
    printf("same bytes: forward %s, reverse %s, gradient %s and %s\n",
           memcmp(out[FORWARD_DENSE], out[FORWARD_SUMS], forward) ? "NO" : "yes",
           memcmp(out[REVERSE_DENSE], out[REVERSE_SUMS], reverse) ? "NO" : "yes",
           memcmp(out[GRADIENT_DENSE], out[GRADIENT_COUNTED], gradient) ? "NO" : "yes",
           memcmp(out[GRADIENT_DENSE], out[GRADIENT_SUMS], gradient) ? "NO" : "yes");
    return 0;
}
