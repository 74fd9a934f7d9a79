/* The sums of the ones (src/product_ones.c) against the dense products: the same bits as
 * rbm_product_nn and its reference for 0/1 (and 0/-1) left operands, at every remainder of the
 * kernel's groups (8 rows) and panels (8 columns), for empty and full rows, and nothing written
 * outside the output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "kernels.h"
#include "pcg32.h"
#include "product_ones.h"

#define COUNT(array) (sizeof array / sizeof array[0])
static const float GUARD = 12345.0f;
enum { BYTE_PADDING = 13, OUT_PADDING = 3 };

/* bytes[rows][depth + BYTE_PADDING]: row i has ones with probability share, except that rows
 * 3 and 11 have none and row 5 only ones; the padding holds 7s, which must not count */
static uint8_t *random_bytes(int64_t rows, int64_t depth, double share, Pcg32 *rng)
{
    const int64_t stride = depth + BYTE_PADDING;
    uint8_t *bytes = malloc((size_t)(rows * stride));
    assert_non_null(bytes);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < stride; k++) {
            const bool one = i == 5 || (i != 3 && i != 11 && pcg32_uniform_reference(rng) < share);
            bytes[i * stride + k] = k >= depth ? 7 : one ? 1 : 0;
        }
    return bytes;
}

static float *random_floats(int64_t n, Pcg32 *rng)
{
    float *values = malloc((size_t)n * sizeof *values);
    assert_non_null(values);
    for (int64_t i = 0; i < n; i++)
        values[i] = 2.0f * pcg32_uniform_reference(rng) - 1.0f;
    return values;
}

static float *guarded_output(int64_t rows, int64_t stride)
{
    float *out = malloc((size_t)(rows * stride + 2 * 16) * sizeof *out);
    assert_non_null(out);
    for (int64_t i = 0; i < rows * stride + 2 * 16; i++)
        out[i] = GUARD;
    return out + 16;
}

/* The product's elements are there, and every float outside them is still the guard */
static void assert_only_product(const float *out, int64_t rows, int64_t columns, int64_t stride)
{
    for (int64_t i = -16; i < rows * stride + 16; i++) {
        const bool inside = i >= 0 && i < rows * stride && i % stride < columns;
        if (!inside)
            assert_true(out[i] == GUARD);
        else
            assert_true(out[i] != GUARD);
    }
}

static void test_same_bits_as_dense(void **state)
{
    (void)state;
    Pcg32 rng;
    pcg32_seed(&rng, 12, 1);
    const int64_t row_cases[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 100};
    const int64_t column_cases[] = {1, 6, 7, 8, 9, 16, 23, 150};
    const int64_t depth_cases[] = {1, 5, 31, 32, 33, 64, 100, 784};
    const double shares[] = {0.0, 0.05, 0.3, 0.6, 1.0};
    for (size_t a = 0; a < COUNT(row_cases); a++)
        for (size_t b = 0; b < COUNT(column_cases); b++)
            for (size_t c = 0; c < COUNT(depth_cases); c++) {
                const int64_t rows = row_cases[a], columns = column_cases[b];
                const int64_t depth = depth_cases[c], byte_stride = depth + BYTE_PADDING;
                const double share = shares[(a + b + c) % COUNT(shares)];
                const bool negative = (a + c) % 2; /* -vn, as the trainer stores it */
                const float alpha = negative ? -1.0f : 1.0f, sign = alpha;
                uint8_t *bytes = random_bytes(rows, depth, share, &rng);
                /* W_s as the trainer holds it: columns rows of depth floats, a wider stride */
                const int64_t weight_stride = depth + 3;
                float *weights = random_floats(columns * weight_stride, &rng);
                /* the dense operands: the samples as floats, and W_s^T */
                float *left = malloc((size_t)(rows * depth) * sizeof *left);
                float *transposed = malloc((size_t)(depth * columns) * sizeof *transposed);
                assert_non_null(left);
                assert_non_null(transposed);
                for (int64_t i = 0; i < rows; i++)
                    for (int64_t k = 0; k < depth; k++)
                        left[i * depth + k] = sign * (float)bytes[i * byte_stride + k];
                for (int64_t k = 0; k < depth; k++)
                    for (int64_t j = 0; j < columns; j++)
                        transposed[k * columns + j] = weights[j * weight_stride + k];

                /* 32-byte aligned, as the kernel's loads need */
                const size_t panel_bytes =
                    ((size_t)rbm_panel_floats(columns, depth) * sizeof(float) + 63) / 64 * 64;
                float *panels = aligned_alloc(64, panel_bytes);
                assert_non_null(panels);
                rbm_pack_panels(panels, weights, weight_stride, columns, depth);
                RbmOnes ones;
                assert_int_equal(rbm_ones_new(&ones, rows + 5, depth), 0);
                rbm_ones_lists(&ones, bytes, byte_stride, rows, depth);

                const int64_t stride = columns + OUT_PADDING;
                float *out = guarded_output(rows, stride), *dense = guarded_output(rows, stride);
                float *reference = guarded_output(rows, stride);
                float *plain = guarded_output(rows, stride);
                rbm_product_ones(out, stride, alpha, sign, &ones, panels, columns);
                rbm_product_nn_reference(dense, stride, alpha, left, depth, transposed, columns,
                                         rows, columns, depth);
                rbm_product_ones_reference(plain, stride, alpha, sign, bytes, byte_stride,
                                           transposed, columns, rows, columns, depth);
                assert_only_product(out, rows, columns, stride);
                const size_t size = (size_t)(rows * stride) * sizeof(float);
                assert_memory_equal(out, dense, size);
                assert_memory_equal(out, plain, size);
                if (RBM_PRODUCTS_OWN) { /* the trainer's dense kernel, where it has its own */
                    rbm_product_nn(reference, stride, alpha, left, depth, transposed, columns,
                                   rows, columns, depth);
                    assert_memory_equal(out, reference, size);
                }
                free(out - 16);
                free(dense - 16);
                free(reference - 16);
                free(plain - 16);
                rbm_ones_free(&ones);
                free(panels);
                free(left);
                free(transposed);
                free(weights);
                free(bytes);
            }
}

/* The lists: every row once, longest first, each list its row's ones in ascending order and
 * then the zero row up to its group's longest, rounded up to 4 */
static void test_lists(void **state)
{
    (void)state;
    Pcg32 rng;
    pcg32_seed(&rng, 12, 2);
    const int64_t rows = 29, depth = 100, byte_stride = depth + BYTE_PADDING;
    uint8_t *bytes = random_bytes(rows, depth, 0.3, &rng);
    RbmOnes ones;
    assert_int_equal(rbm_ones_new(&ones, rows, depth), 0);
    rbm_ones_lists(&ones, bytes, byte_stride, rows, depth);
    int64_t total = 0;
    bool seen[29] = {false};
    for (int64_t s = 0; s < rows; s++) {
        const int32_t row = ones.row[s];
        assert_true(row >= 0 && row < rows && !seen[row]);
        seen[row] = true;
        const uint16_t *list = ones.lists + s * ones.list_stride;
        int64_t count = 0;
        for (int64_t k = 0; k < depth; k++)
            if (bytes[row * byte_stride + k])
                assert_int_equal(list[count++], 4 * k);
        total += count;
        if (s > 0)
            assert_true(ones.count[ones.row[s - 1]] >= count);
        const int32_t longest = ones.count[ones.row[s / 8 * 8]];
        assert_int_equal(ones.length[s], (longest + 3) / 4 * 4);
        for (int64_t e = count; e < ones.length[s]; e++)
            assert_int_equal(list[e], 4 * depth);
    }
    assert_int_equal(ones.ones, total);
    assert_int_equal(ones.rows, rows);
    rbm_ones_free(&ones);
    assert_int_equal(rbm_ones_new(&ones, rows, RBM_ONES_MAX_DEPTH + 1), -EINVAL);
    free(bytes);
}

/* The reverse form: the left operand as rows of 0/1 floats (the hidden samples), the right one
 * as it lies, depth-major (W_s), packed by rbm_pack_row_panels; the same bits as the dense
 * product, for lists made for a smaller depth than the capacity (the trainer's narrower strips) */
static void test_rows_of_floats(void **state)
{
    (void)state;
    Pcg32 rng;
    pcg32_seed(&rng, 12, 4);
    const int64_t row_cases[] = {1, 7, 8, 9, 100};
    const int64_t column_cases[] = {1, 8, 13, 16, 392};
    const int64_t depth_cases[] = {1, 8, 9, 125, 150};
    const double shares[] = {0.07, 0.5, 1.0};
    RbmOnes ones;
    assert_int_equal(rbm_ones_new(&ones, 100, 151), 0);
    for (size_t a = 0; a < COUNT(row_cases); a++)
        for (size_t b = 0; b < COUNT(column_cases); b++)
            for (size_t c = 0; c < COUNT(depth_cases); c++) {
                const int64_t rows = row_cases[a], columns = column_cases[b];
                const int64_t depth = depth_cases[c], left_stride = depth + 5;
                const int64_t right_stride = columns + 7, stride = columns + OUT_PADDING;
                const double share = shares[(a + b + c) % COUNT(shares)];
                float *left = malloc((size_t)(rows * left_stride) * sizeof *left);
                assert_non_null(left);
                for (int64_t i = 0; i < rows * left_stride; i++) /* padding: not a one */
                    left[i] = i % left_stride >= depth ? 0.0f
                              : pcg32_uniform_reference(&rng) < share ? 1.0f
                                                                      : 0.0f;
                float *right = random_floats(depth * right_stride, &rng);
                const size_t panel_bytes =
                    ((size_t)rbm_panel_floats(columns, depth) * sizeof(float) + 63) / 64 * 64;
                float *panels = aligned_alloc(64, panel_bytes);
                assert_non_null(panels);
                rbm_pack_row_panels(panels, right, right_stride, depth, columns);
                rbm_ones_lists_of_floats(&ones, left, left_stride, rows, depth);
                float *out = guarded_output(rows, stride), *dense = guarded_output(rows, stride);
                rbm_product_ones(out, stride, 1.0f, 1.0f, &ones, panels, columns);
                rbm_product_nn_reference(dense, stride, 1.0f, left, left_stride, right,
                                         right_stride, rows, columns, depth);
                assert_only_product(out, rows, columns, stride);
                assert_memory_equal(out, dense, (size_t)(rows * stride) * sizeof(float));
                free(out - 16);
                free(dense - 16);
                free(panels);
                free(right);
                free(left);
            }
    rbm_ones_free(&ones);
}

/* The gradient step from bit counts and the sums of vn's columns: the bits of the dense
 * product over [h0; hnp]^T [v0; -vn] (rbm_product_tn) and of rbm_product_tn_counted's
 * reference, for every remainder of the 8-unit panels and 8-column groups, 1 to 3 words */
static void test_gradient(void **state)
{
    (void)state;
    Pcg32 rng;
    pcg32_seed(&rng, 12, 5);
    const int64_t hidden_cases[] = {1, 5, 8, 13, 150};
    const int64_t visible_cases[] = {1, 7, 8, 9, 100, 784};
    const int64_t batch_cases[] = {1, 63, 64, 100, 130, 300}; /* 300: 5 words */
    for (size_t a = 0; a < COUNT(hidden_cases); a++)
        for (size_t b = 0; b < COUNT(visible_cases); b++)
            for (size_t c = 0; c < COUNT(batch_cases); c++) {
                const int64_t H = hidden_cases[a], V = visible_cases[b], B = batch_cases[c];
                const int64_t words = (B + 63) / 64, hidden_stride = H + 3;
                const int64_t velocity_stride = V + 2;
                /* [h0; hnp] and [v0; -vn], as the trainer holds them */
                float *hidden = malloc((size_t)(2 * B * hidden_stride) * sizeof *hidden);
                float *visible = malloc((size_t)(2 * B * V) * sizeof *visible);
                assert_non_null(hidden);
                assert_non_null(visible);
                for (int64_t i = 0; i < 2 * B * hidden_stride; i++) {
                    const float u = pcg32_uniform_reference(&rng);
                    /* h0 a fifth ones (the counts from v0's bytes) or half (from the bits) */
                    const float share = (a + b + c) % 2 ? 0.2f : 0.5f;
                    hidden[i] = i >= B * hidden_stride ? u : u < share ? 1.0f : 0.0f;
                }
                for (int64_t i = 0; i < 2 * B * V; i++) {
                    const bool one = pcg32_uniform_reference(&rng) < 0.3f;
                    visible[i] = i < B * V ? (one ? 1.0f : 0.0f) : (one ? -1.0f : -0.0f);
                }
                const size_t bit_words = (size_t)(words * (H > V ? H : V));
                uint64_t *hidden_bits = malloc(bit_words * sizeof(uint64_t));
                uint64_t *visible_bits = malloc(bit_words * sizeof(uint64_t));
                uint64_t *vn_bits = malloc(bit_words * sizeof(uint64_t));
                assert_true(hidden_bits && visible_bits && vn_bits);
                rbm_pack_sample_bits(hidden_bits, hidden, hidden_stride, B, H);
                rbm_pack_sample_bits(visible_bits, visible, V, B, V);
                rbm_pack_sample_bits(vn_bits, visible + B * V, V, B, V);
                RbmOnes columns;
                assert_int_equal(rbm_ones_new(&columns, V, B), 0);
                rbm_ones_lists_of_bits(&columns, vn_bits, V, B);
                const size_t panel_bytes =
                    ((size_t)rbm_panel_floats(H, B) * sizeof(float) + 63) / 64 * 64;
                float *panels = aligned_alloc(64, panel_bytes);
                assert_non_null(panels);
                rbm_pack_row_panels(panels, hidden + B * hidden_stride, hidden_stride, B, H);

                float *out = guarded_output(H, velocity_stride);
                float *whole = guarded_output(H, velocity_stride);
                float *counted = guarded_output(H, velocity_stride);
                for (int64_t i = 0; i < H; i++)
                    for (int64_t j = 0; j < V; j++)
                        out[i * velocity_stride + j] = whole[i * velocity_stride + j] =
                            counted[i * velocity_stride + j] =
                                pcg32_uniform_reference(&rng) - 0.5f;
                const float momentum = 0.9f, inverse = 1.0f / (float)B;
                float *staging = aligned_alloc(64, (size_t)((V * 8 * 4 + 63) / 64 * 64));
                assert_non_null(staging);
                /* v0 as 0/1 bytes, in rows as short as rbm_gradient_ones allows (the trainer's
                 * are whole cache lines) */
                const int64_t byte_stride = (V + 31) / 32 * 32;
                uint8_t *bytes = malloc((size_t)(B * byte_stride));
                assert_non_null(bytes);
                for (int64_t i = 0; i < B * byte_stride; i++) /* padding: not 0/1 */
                    bytes[i] = i % byte_stride < V ? visible[i / byte_stride * V +
                                                             i % byte_stride] != 0.0f
                                                   : 9;
                /* and the weight step with it, as rbm_weight_step takes it after the product */
                float *weights = guarded_output(H, velocity_stride);
                float *expected_weights = guarded_output(H, velocity_stride);
                float *whole_weights = guarded_output(H, velocity_stride);
                for (int64_t i = 0; i < H; i++)
                    for (int64_t j = 0; j < V; j++)
                        weights[i * velocity_stride + j] =
                            expected_weights[i * velocity_stride + j] =
                                whole_weights[i * velocity_stride + j] =
                                    0.02f * pcg32_uniform_reference(&rng) - 0.01f;
                const float weight_decay = c % 2 ? 0.001f : 0.0f;
                const RbmStepRule rule = {momentum, inverse, 0.1f, weight_decay};
                rbm_gradient_ones(out, weights, velocity_stride, &rule, hidden_bits, visible_bits,
                                  bytes, byte_stride, words, &columns, panels, H, V, staging);
                free(bytes);
                free(staging);
                rbm_product_tn_counted_reference(counted, velocity_stride, momentum, inverse,
                                                 hidden_bits, H, visible_bits, V, words,
                                                 hidden + B * hidden_stride, hidden_stride,
                                                 visible + B * V, V, H, V, B);
                const size_t size = (size_t)(H * velocity_stride) * sizeof(float);
                for (int64_t i = -16; i < H * velocity_stride + 16; i++) /* the padding kept */
                    if (i < 0 || i >= H * velocity_stride || i % velocity_stride >= V)
                        assert_true(out[i] == GUARD);
                rbm_weight_step(expected_weights, counted, 0.1f, weight_decay, false, H, V,
                                velocity_stride);
                assert_memory_equal(out, counted, size);
                assert_memory_equal(weights, expected_weights, size);
                free(expected_weights - 16);
                if (RBM_PRODUCTS_OWN) {
                    rbm_product_tn(whole, velocity_stride, momentum, inverse, hidden,
                                   hidden_stride, visible, V, H, V, 2 * B);
                    rbm_weight_step(whole_weights, whole, 0.1f, weight_decay, false, H, V,
                                    velocity_stride);
                    assert_memory_equal(out, whole, size);
                    assert_memory_equal(weights, whole_weights, size);
                }
                free(out - 16);
                free(whole - 16);
                free(counted - 16);
                free(weights - 16);
                free(whole_weights - 16);
                free(panels);
                rbm_ones_free(&columns);
                free(hidden_bits);
                free(visible_bits);
                free(vn_bits);
                free(hidden);
                free(visible);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bits_as_dense),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_rows_of_floats),
        cmocka_unit_test(test_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
