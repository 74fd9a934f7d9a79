/* The trainer's own products (src/gemm.c) against their plain references: the same bits with
 * AVX-512, for every shape around the kernels' block edges, with strides wider than the rows,
 * and nothing written outside the output. Without AVX-512 they are OpenBLAS, compared with a
 * tolerance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gemm.h"
#include "pcg32.h"

static const float GUARD = 12345.0f; /* what the padding of an output holds before and after */

/* n values: 0/1 samples (binary) or in [-1, 1) */
static float *random_floats(size_t n, bool binary, Pcg32 *rng)
{
    float *values = malloc((n ? n : 1) * sizeof *values);
    assert_non_null(values);
    for (size_t i = 0; i < n; i++) {
        float u = pcg32_uniform_reference(rng);
        values[i] = binary ? (u < 0.4f ? 1.0f : 0.0f) : 2.0f * u - 1.0f;
    }
    return values;
}

/* An operand of n floats (0/1 samples or in [-1, 1)) that ends right before a page that cannot
 * be read: a kernel that reads one float past its last row crashes the test. The sanitizers do
 * not see the kernels' masked intrinsic loads, so this is how the tests check their reads. */
typedef struct Operand {
    float *values;
    void *mapping;
    size_t mapping_bytes;
} Operand;

static Operand operand(size_t n, bool binary, Pcg32 *rng)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    Operand operand = {.mapping_bytes = (n * sizeof(float) + page - 1) / page * page + page};
    operand.mapping = mmap(NULL, operand.mapping_bytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(operand.mapping != MAP_FAILED);
    char *guard_page = (char *)operand.mapping + operand.mapping_bytes - page;
    assert_int_equal(mprotect(guard_page, page, PROT_NONE), 0);
    operand.values = (float *)guard_page - n;
    for (size_t i = 0; i < n; i++) {
        float u = pcg32_uniform_reference(rng);
        operand.values[i] = binary ? (u < 0.4f ? 1.0f : 0.0f) : 2.0f * u - 1.0f;
    }
    return operand;
}

static void free_operand(Operand operand) { munmap(operand.mapping, operand.mapping_bytes); }

/* The floats of `count` rows `stride` apart whose last row holds `width`: the operand ends there */
static size_t rows_span(int64_t count, int64_t stride, int64_t width)
{
    return count > 0 ? (size_t)((count - 1) * stride + width) : 0;
}

/* rows x stride floats of GUARD, with a row of GUARD before and after them: returns the first
 * row (free with free_guarded) */
static float *guarded(int64_t rows, int64_t stride)
{
    float *values = malloc((size_t)((rows + 2) * stride) * sizeof *values);
    assert_non_null(values);
    for (int64_t i = 0; i < (rows + 2) * stride; i++)
        values[i] = GUARD;
    return values + stride;
}

static void free_guarded(float *values, int64_t stride) { free(values - stride); }

/* out and expected hold rows x columns in stride; the padding, and the rows before and after,
 * must still be GUARD */
static void assert_same(const float *out, const float *expected, int64_t rows, int64_t columns,
                        int64_t stride, int64_t depth)
{
    for (int64_t j = 0; j < stride; j++)
        assert_true(out[j - stride] == GUARD && out[rows * stride + j] == GUARD);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < stride; j++) {
            const float got = out[i * stride + j], want = expected[i * stride + j];
            if (j >= columns) {
                assert_true(got == GUARD);
            } else if (RBM_PRODUCTS_OWN) {
                if (memcmp(&got, &want, sizeof got) != 0)
                    fail_msg("rows %lld columns %lld depth %lld: [%lld][%lld] = %.9g, "
                             "reference %.9g",
                             (long long)rows, (long long)columns, (long long)depth, (long long)i,
                             (long long)j, (double)got, (double)want);
            } else {
                assert_true(fabsf(got - want) <= 1e-6f * (float)(depth + 1) * (1.0f + fabsf(want)));
            }
        }
}

/* every remainder of both kernels' row blocks (10 and 12 rows), a chunk of 50, and more than
 * a deep product's group of rows (96) */
static const int64_t row_counts[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
                                     15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 50, 110};
/* up to more than a deep product's group of columns (128) */
static const int64_t column_counts[] = {1, 5, 15, 16, 17, 31, 32, 33, 48, 100, 161};
/* 512 and 600: rbm_product_tn in slices of 128 (from a depth of 512 on), the last one whole
 * and partial */
static const int64_t depths[] = {0, 1, 3, 16, 77, 300, 512, 600};
#define COUNT(array) (sizeof array / sizeof array[0])

static void test_product_nn(void **state)
{
    (void)state;
    Pcg32 rng;
    pcg32_seed(&rng, 1, 2);
    for (size_t a = 0; a < COUNT(row_counts); a++)
        for (size_t b = 0; b < COUNT(column_counts); b++)
            for (size_t c = 0; c < COUNT(depths); c++) {
                const int64_t rows = row_counts[a], columns = column_counts[b], depth = depths[c];
                const int64_t left_stride = depth + 3, right_stride = columns + 7;
                /* the trainer's outputs are dense; others leave columns past the output */
                const int64_t out_stride = (a + b + c) % 2 ? columns : columns + 5;
                Operand left_operand =
                    operand(rows_span(rows, left_stride, depth), c % 2 == 0, &rng);
                Operand right_operand =
                    operand(rows_span(depth, right_stride, columns), false, &rng);
                const float *left = left_operand.values, *right = right_operand.values;
                float *out = guarded(rows, out_stride);
                float *expected = guarded(rows, out_stride);
                const float alpha = (a + b) % 2 ? -1.0f : 1.0f;
                rbm_product_nn(out, out_stride, alpha, left, left_stride, right, right_stride,
                               rows, columns, depth);
                rbm_product_nn_reference(expected, out_stride, alpha, left, left_stride, right,
                                         right_stride, rows, columns, depth);
                assert_same(out, expected, rows, columns, out_stride, depth);
                free_operand(left_operand);
                free_operand(right_operand);
                free_guarded(out, out_stride);
                free_guarded(expected, out_stride);
            }
}

/* rbm_product_nn_streaming writes what rbm_product_nn writes, bit for bit, and nothing past
 * its columns: where `out` is aligned for streaming stores (64 bytes, a stride of whole lines;
 * the AVX2 kernels stream the full panels there) and where it is not (plain stores). The
 * trainer's partial reconstructions are 384 and 400 columns wide at 784 visible units. */
static void test_product_nn_streaming(void **state)
{
    (void)state;
    Pcg32 rng;
    pcg32_seed(&rng, 7, 8);
    /* 24 and 390: streamed panels, then a last one of 8 columns or fewer */
    const int64_t column_cases[] = {8, 16, 24, 47, 384, 390, 400};
    const int64_t row_cases[] = {1, 7, 100};
    const int64_t depth = 150;
    for (size_t a = 0; a < COUNT(row_cases); a++)
        for (size_t b = 0; b < COUNT(column_cases); b++)
            for (int64_t offset = 0; offset <= 4; offset += 4) { /* 4 floats: not aligned */
                const int64_t rows = row_cases[a], columns = column_cases[b];
                const int64_t stride = (columns + 15) / 16 * 16 + 16;
                const size_t floats = (size_t)(rows * stride + 2 * 16);
                float *streamed = aligned_alloc(64, floats * sizeof(float));
                float *plain = aligned_alloc(64, floats * sizeof(float));
                assert_non_null(streamed);
                assert_non_null(plain);
                for (size_t i = 0; i < floats; i++)
                    streamed[i] = plain[i] = GUARD;
                Operand left = operand((size_t)(rows * depth), true, &rng);
                Operand right = operand((size_t)(depth * columns), false, &rng);
                rbm_product_nn_streaming(streamed + 16 + offset, stride, 1.0f, left.values, depth,
                                         right.values, columns, rows, columns, depth);
                rbm_product_nn(plain + 16 + offset, stride, 1.0f, left.values, depth,
                               right.values, columns, rows, columns, depth);
                assert_memory_equal(streamed, plain, floats * sizeof(float));
                /* and the product is there, not the guard */
                assert_true(plain[16 + offset] != GUARD);
                free_operand(left);
                free_operand(right);
                free(streamed);
                free(plain);
            }
}

static void test_product_tn(void **state)
{
    (void)state;
    Pcg32 rng;
    pcg32_seed(&rng, 3, 4);
    const float betas[] = {0.9f, 1.0f, 0.0f}, alphas[] = {0.01f, 1.0f, 0.37f};
    for (size_t a = 0; a < COUNT(row_counts); a++)
        for (size_t b = 0; b < COUNT(column_counts); b++)
            for (size_t c = 0; c < COUNT(depths); c++) {
                const int64_t rows = row_counts[a], columns = column_counts[b], depth = depths[c];
                const int64_t left_stride = rows + 2, right_stride = columns + 9;
                const int64_t out_stride = (a + b + c) % 2 ? columns : columns + 4;
                /* 0/1 samples on one side at most: two 0/1 sides sum exactly in any order */
                Operand left_operand =
                    operand(rows_span(depth, left_stride, rows), c % 2 == 1, &rng);
                Operand right_operand =
                    operand(rows_span(depth, right_stride, columns), c == 2, &rng);
                const float *left = left_operand.values, *right = right_operand.values;
                float *out = guarded(rows, out_stride);
                float *expected = guarded(rows, out_stride);
                for (int64_t i = 0; i < rows; i++) /* the velocity the product updates */
                    for (int64_t j = 0; j < columns; j++)
                        out[i * out_stride + j] = expected[i * out_stride + j] =
                            2.0f * pcg32_uniform_reference(&rng) - 1.0f;
                const size_t rule = (a + b + c) % 3;
                rbm_product_tn(out, out_stride, betas[rule], alphas[rule], left, left_stride,
                               right, right_stride, rows, columns, depth);
                rbm_product_tn_reference(expected, out_stride, betas[rule], alphas[rule], left,
                                         left_stride, right, right_stride, rows, columns, depth);
                assert_same(out, expected, rows, columns, out_stride, depth);
                free_operand(left_operand);
                free_operand(right_operand);
                free_guarded(out, out_stride);
                free_guarded(expected, out_stride);
            }
}

/* bits[w * columns + c], bit k % 64 of word w = k / 64: values[k * stride + c] != 0, k < depth */
static uint64_t *pack_bits(const float *values, int64_t stride, int64_t depth, int64_t columns)
{
    const int64_t words = (depth + 63) / 64;
    uint64_t *bits = calloc((size_t)(words * columns + 1), sizeof *bits);
    assert_non_null(bits);
    for (int64_t k = 0; k < depth; k++)
        for (int64_t c = 0; c < columns; c++)
            if (values[k * stride + c] != 0.0f)
                bits[k / 64 * columns + c] |= (uint64_t)1 << (k % 64);
    return bits;
}

/* rbm_product_tn_counted gives rbm_product_tn's bits for [left0; left]^T [right0; right] with
 * 0/1 first parts (as CD's gradient has them: h0 and v0 samples), and its reference's, at
 * every remainder of the row blocks and panels, for first parts of 1 to 3 words */
static void test_product_tn_counted(void **state)
{
    (void)state;
    if (!RBM_PRODUCT_TN_COUNTED)
        skip();
    Pcg32 rng;
    pcg32_seed(&rng, 12, 3);
    const int64_t first_depths[] = {1, 63, 64, 100, 130}, rest_depths[] = {0, 1, 100};
    for (size_t a = 0; a < COUNT(row_counts); a++)
        for (size_t b = 0; b < COUNT(column_counts); b++)
            for (size_t c = 0; c < COUNT(first_depths) * COUNT(rest_depths); c++) {
                const int64_t rows = row_counts[a], columns = column_counts[b];
                const int64_t first = first_depths[c % COUNT(first_depths)];
                const int64_t rest = rest_depths[c / COUNT(first_depths)];
                const int64_t depth = first + rest, words = (first + 63) / 64;
                const int64_t left_stride = rows + 2, right_stride = columns + 9;
                const int64_t out_stride = columns + 3;
                float *left = malloc((size_t)(depth * left_stride) * sizeof *left);
                float *right = malloc((size_t)(depth * right_stride) * sizeof *right);
                assert_non_null(left);
                assert_non_null(right);
                for (int64_t k = 0; k < depth; k++) {
                    for (int64_t i = 0; i < left_stride; i++) {
                        const float u = pcg32_uniform_reference(&rng);
                        left[k * left_stride + i] = k < first ? (u < 0.5f ? 1.0f : 0.0f) : u;
                    }
                    for (int64_t j = 0; j < right_stride; j++) {
                        const float u = pcg32_uniform_reference(&rng);
                        /* the rest as CD's -vn: -1 and -0 */
                        right[k * right_stride + j] = k < first ? (u < 0.3f ? 1.0f : 0.0f)
                                                                : (u < 0.3f ? -1.0f : -0.0f);
                    }
                }
                uint64_t *left_bits = pack_bits(left, left_stride, first, rows);
                uint64_t *right_bits = pack_bits(right, right_stride, first, columns);
                float *out = guarded(rows, out_stride), *whole = guarded(rows, out_stride);
                float *expected = guarded(rows, out_stride);
                for (int64_t i = 0; i < rows; i++) /* the velocity before the step */
                    for (int64_t j = 0; j < columns; j++)
                        out[i * out_stride + j] = whole[i * out_stride + j] =
                            expected[i * out_stride + j] = pcg32_uniform_reference(&rng) - 0.5f;
                rbm_product_tn_counted(out, out_stride, 0.9f, 0.01f, left_bits, rows, right_bits,
                                       columns, words, left + first * left_stride, left_stride,
                                       right + first * right_stride, right_stride, rows, columns,
                                       rest);
                rbm_product_tn(whole, out_stride, 0.9f, 0.01f, left, left_stride, right,
                               right_stride, rows, columns, depth);
                rbm_product_tn_counted_reference(expected, out_stride, 0.9f, 0.01f, left_bits,
                                                 rows, right_bits, columns, words,
                                                 left + first * left_stride, left_stride,
                                                 right + first * right_stride, right_stride,
                                                 rows, columns, rest);
                assert_same(out, whole, rows, columns, out_stride, depth);
                assert_same(out, expected, rows, columns, out_stride, depth);
                free_guarded(out, out_stride);
                free_guarded(whole, out_stride);
                free_guarded(expected, out_stride);
                free(left_bits);
                free(right_bits);
                free(left);
                free(right);
            }
}

/* A block of the output computed on its own (offset pointers, other edges) has the same bits
 * as the same elements of the whole product: the work split never changes a value. */
static void test_products_independent_of_split(void **state)
{
    (void)state;
    if (!RBM_PRODUCTS_OWN)
        skip();
    Pcg32 rng;
    pcg32_seed(&rng, 5, 6);
    const int64_t rows = 50, columns = 300;
    for (int64_t depth = 200; depth <= 600; depth += 400) { /* 600: the gradient in slices */
        float *left = random_floats((size_t)(depth * rows), true, &rng);
        float *right = random_floats((size_t)(depth * columns), false, &rng);
        float *whole = calloc((size_t)(rows * columns), sizeof(float));
        float *part = calloc((size_t)(rows * columns), sizeof(float));
        assert_non_null(whole);
        assert_non_null(part);
        rbm_product_nn(whole, columns, 1.0f, left, depth, right, columns, rows, columns, depth);
        rbm_product_nn(part + 7 * columns + 19, columns, 1.0f, left + 7 * depth, depth,
                       right + 19, columns, 27, 205, depth); /* 2 blocks and a remainder of 7 */
        for (int64_t i = 7; i < 34; i++)
            assert_memory_equal(part + i * columns + 19, whole + i * columns + 19,
                                205 * sizeof(float));
        rbm_product_tn(whole, columns, 0.5f, 0.25f, left, rows, right, columns, rows, columns,
                       depth);
        memcpy(part, whole, (size_t)(rows * columns) * sizeof(float));
        rbm_product_tn(whole, columns, 0.5f, 0.25f, left, rows, right, columns, rows, columns,
                       depth);
        rbm_product_tn(part + 3 * columns + 40, columns, 0.5f, 0.25f, left + 3, rows,
                       right + 40, columns, 41, 131, depth);
        for (int64_t i = 3; i < 44; i++)
            assert_memory_equal(part + i * columns + 40, whole + i * columns + 40,
                                131 * sizeof(float));
        free(left);
        free(right);
        free(whole);
        free(part);
    }
}

static void test_transpose(void **state)
{
    (void)state;
    const int64_t shapes[][2] = {{1, 1}, {16, 16}, {17, 33}, {31, 5}, {300, 784}, {500, 47}};
    for (size_t s = 0; s < COUNT(shapes); s++) {
        const int64_t rows = shapes[s][0], columns = shapes[s][1];
        const int64_t in_stride = columns + 3, out_stride = rbm_product_stride(rows);
        assert_true(out_stride >= rows && out_stride % 16 == 0 && out_stride % 256 != 0);
        float *in = malloc((size_t)(rows * in_stride) * sizeof *in);
        float *out = guarded(columns, out_stride);
        assert_non_null(in);
        for (int64_t i = 0; i < rows * in_stride; i++)
            in[i] = (float)i;
        rbm_transpose(out, out_stride, in, in_stride, rows, columns);
        for (int64_t j = -1; j <= columns; j++) /* and the rows before and after */
            for (int64_t i = 0; i < out_stride; i++) {
                const bool inside = j >= 0 && j < columns && i < rows;
                assert_true(out[j * out_stride + i] == (inside ? in[i * in_stride + j] : GUARD));
            }
        free(in);
        free_guarded(out, out_stride);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_product_nn),
        cmocka_unit_test(test_product_nn_streaming),
        cmocka_unit_test(test_product_tn),
        cmocka_unit_test(test_product_tn_counted),
        cmocka_unit_test(test_products_independent_of_split),
        cmocka_unit_test(test_transpose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
