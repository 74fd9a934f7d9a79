/* Each optimised kernel against its plain reference. */
#include <math.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernels.h"

static double exact_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static void test_sigmoid_accuracy(void **state)
{
    (void)state;
    double worst = 0;
    for (double x = -100; x <= 100; x += 0.0037) {
        double error = fabs((double)rbm_sigmoid_scalar((float)x) - exact_sigmoid((float)x));
        if (error > worst)
            worst = error;
    }
    assert_true(worst < 3e-7);
    assert_true(rbm_sigmoid_scalar(1e30f) == 1.0f);
    assert_true(rbm_sigmoid_scalar(-1e30f) >= 0.0f && rbm_sigmoid_scalar(-1e30f) < 1e-30f);
    assert_true(rbm_sigmoid_scalar(0.0f) == 0.5f);
    assert_true(isnan(rbm_sigmoid_scalar(NAN))); /* diverged inputs pass through, no UB */
}

/* The vector loop must give the scalar function's bits at every position and length, so that
 * where a row starts or ends never changes a value. */
static void test_sigmoid_vector_equals_scalar(void **state)
{
    (void)state;
    enum { N = 517 };
    float input[N], bias[N], out[N];
    for (int i = 0; i < N; i++) {
        input[i] = (float)((i * 7919 % 2001) - 1000) * 0.013f;
        bias[i] = (float)(i % 13) * 0.1f - 0.6f;
    }
    for (int start = 0; start < 17; start++) {
        for (int n = 0; n + start <= N; n += 37) {
            rbm_sigmoid_bias(out + start, input + start, bias + start, (size_t)n);
            for (int i = start; i < start + n; i++)
                assert_true(out[i] == rbm_sigmoid_scalar(input[i] + bias[i]));
        }
    }
}

/* Every kind of float, not just the usual range: the clamps at +-87, infinities, NaN, denormals
 * and a million random bit patterns, at every position of a 16-lane vector and in the tail.
 * Equal bits, or NaN for NaN. */
static void test_sigmoid_every_input(void **state)
{
    (void)state;
    enum { N = 1 << 20 };
    float *input = malloc(N * sizeof(float)), *zero = calloc(N, sizeof(float));
    float *out = malloc(N * sizeof(float));
    assert_non_null(input);
    assert_non_null(zero);
    assert_non_null(out);
    const float special[] = {0.0f, -0.0f, 87.0f, -87.0f, 87.000008f, -87.000008f, 86.99999f,
                             -86.99999f, 88.7f, -88.7f, 1e30f, -1e30f, INFINITY, -INFINITY,
                             NAN, -NAN, 1e-45f, -1e-45f, 1.17549435e-38f, 0.5f, -0.5f, 16.6f};
    const int specials = (int)(sizeof special / sizeof special[0]);
    Pcg32 rng;
    pcg32_seed(&rng, 11, 3);
    for (int i = 0; i < N; i++) {
        if (i < 16 * specials) {
            input[i] = special[i / 16]; /* each special value in every lane */
        } else {
            uint32_t bits = pcg32_next(&rng);
            memcpy(&input[i], &bits, sizeof bits);
        }
    }
    rbm_sigmoid_bias(out, input, zero, N - 5); /* a tail of 11 */
    int nans = 0;
    for (int i = 0; i < N - 5; i++) {
        float expected = rbm_sigmoid_scalar(input[i]);
        assert_memory_equal(&out[i], &expected, sizeof expected); /* NaNs too, sign and all */
        if (isnan(expected))
            nans++;
        else
            assert_true(out[i] >= 0.0f && out[i] <= 1.0f);
    }
    assert_true(nans > 16 * 2); /* both NaN specials, and random patterns */
    free(input);
    free(zero);
    free(out);
}

static void test_sampling_kernels(void **state)
{
    (void)state;
    enum { N = 300 };
    float pre[N], bias[N], uniform[N], sample[N], probability[N];
    Pcg32 rng;
    pcg32_seed(&rng, 5, 9);
    for (int i = 0; i < N; i++) {
        pre[i] = (float)(i % 41) * 0.2f - 4.0f;
        bias[i] = 0.25f;
        uniform[i] = pcg32_uniform_reference(&rng);
    }
    rbm_sigmoid_bias(probability, pre, bias, N);
    rbm_bernoulli_signed(sample, probability, uniform, -1.0f, N);
    for (int i = 0; i < N; i++) {
        float p = rbm_sigmoid_scalar(pre[i] + bias[i]);
        assert_true(probability[i] == p);
        assert_true(sample[i] == (uniform[i] < p ? -1.0f : 0.0f));
    }
    rbm_bernoulli_signed(sample, probability, uniform, 1.0f, N);
    for (int i = 0; i < N; i++)
        assert_true(sample[i] == (uniform[i] < probability[i] ? 1.0f : 0.0f));
    /* split = hidden's hand-over: 0/1 bytes, then each worker's signed float copy, must give the
     * floats the signed kernel gives (the same bits whichever split samples) */
    uint8_t bytes[N];
    float copy[N];
    rbm_bernoulli_bytes(bytes, probability, uniform, N);
    int ones = 0;
    for (int i = 0; i < N; i++) {
        assert_true(bytes[i] == (uniform[i] < probability[i] ? 1 : 0));
        ones += bytes[i];
    }
    assert_true(ones > N / 10 && ones < N - N / 10); /* both outcomes occur */
    for (int k = 0; k < 2; k++) {
        const float sign = k ? -1.0f : 1.0f;
        rbm_bytes_to_samples(copy, bytes, sign, N);
        rbm_bernoulli_signed(sample, probability, uniform, sign, N);
        assert_memory_equal(copy, sample, sizeof copy);
    }
    /* p = 0 never fires, p = 1 always does */
    float zero = 0.0f, one = 1.0f, out;
    float smallest = 0.0f, largest = 0.99999994f;
    rbm_bernoulli_signed(&out, &zero, &smallest, 1.0f, 1);
    assert_true(out == 0.0f);
    rbm_bernoulli_signed(&out, &one, &largest, 1.0f, 1);
    assert_true(out == 1.0f);
}

/* The reconstruction from strips' partial products in one pass, against its reference: the
 * parts added in order into a copy of the first, then rbm_sigmoid_bias. Every length up to 40
 * (each masked tail), 1 to 5 parts, large sums that round differently in another order. */
static void test_sigmoid_sum_equals_reference(void **state)
{
    (void)state;
    enum { WIDTH = 300, PARTS = 5, STRIDE = 311 };
    static float parts[PARTS * STRIDE], bias[WIDTH], sum[WIDTH], expected[WIDTH], out[WIDTH];
    Pcg32 rng;
    pcg32_seed(&rng, 21, 6);
    for (int i = 0; i < PARTS * STRIDE; i++) /* magnitudes from 1e-3 to 1e3: order matters */
        parts[i] = (pcg32_uniform_reference(&rng) - 0.5f) * powf(10.0f, (float)(i % 7) - 3.0f);
    for (int j = 0; j < WIDTH; j++)
        bias[j] = pcg32_uniform_reference(&rng) - 0.5f;
    parts[3] = NAN;
    for (int64_t count = 1; count <= PARTS; count++) {
        for (size_t n = 0; n <= WIDTH; n += (n < 40 ? 1 : 37)) {
            memcpy(sum, parts, n * sizeof(float));
            for (int64_t p = 1; p < count; p++)
                for (size_t j = 0; j < n; j++)
                    sum[j] += parts[p * STRIDE + (int64_t)j];
            rbm_sigmoid_bias(expected, sum, bias, n);
            rbm_sigmoid_sum_bias(out, parts, STRIDE, count, bias, n);
            assert_memory_equal(out, expected, n * sizeof(float));
        }
    }
}

/* What a call may write past n in `bytes` (filled with 0xAA before it): a streamed last block
 * writes zeros up to its 16, plain stores nothing. */
static void check_past_the_end(const uint8_t *bytes, size_t size, size_t offset, size_t n,
                               bool streaming)
{
    const size_t written = streaming && !offset ? (n + 15) / 16 * 16 : n;
    for (size_t i = n; i < written; i++)
        assert_int_equal(bytes[offset + i], 0);
    for (size_t i = offset + written; i < size; i++)
        assert_int_equal(bytes[i], 0xAA);
}

/* A fused call's outputs against the reference's: the floats (unless out is NULL), the bytes
 * (unless out_bytes, which starts `offset` into `bytes`, is NULL) and what lies past them. */
static void check_samples(const float *out, const float *expected, const uint8_t *out_bytes,
                          const uint8_t *expected_bytes, const uint8_t *bytes, size_t size,
                          size_t offset, size_t n, bool streaming)
{
    if (out)
        assert_memory_equal(out, expected, n * sizeof(float));
    if (out_bytes) {
        assert_memory_equal(out_bytes, expected_bytes, n);
        check_past_the_end(bytes, size, offset, n, streaming);
    } else {
        check_past_the_end(bytes, size, 0, 0, false); /* nothing written */
    }
}

/* The fused pass (uniforms compared as they are made) against its reference: a buffer of
 * uniforms from pcg32_fill_uniform, then the plain comparisons. Every length up to 70 (each
 * tail of the 16 lanes) and longer rows, unaligned starts, both signs, floats and bytes alone or
 * together, plain and streaming byte stores, probabilities at and outside [0, 1], NaN, and equal
 * to their uniform (`<`, not `<=`); the generator must end where the reference's does. */
static void test_fused_sampling_equals_reference(void **state)
{
    (void)state;
    enum { MAX = 1100 };
    static float probability[MAX + 1], uniform[MAX], expected[MAX], sample[MAX + 1];
    static float converted[MAX + 1], expected_converted[MAX], row[MAX + 1];
    static uint8_t data[MAX + 1], expected_bytes[MAX];
    /* aligned, so that the streaming stores do stream; room for their last block's zeros */
    _Alignas(64) static uint8_t bytes[MAX + 32];
    Pcg32 make;
    pcg32_seed(&make, 17, 4);
    for (int i = 0; i <= MAX; i++) {
        const uint32_t r = pcg32_next(&make);
        probability[i] = r % 11 == 0 ? 0.0f : r % 11 == 1 ? 1.0f : r % 11 == 2 ? NAN
                         : r % 11 == 3 ? -0.5f : r % 11 == 4 ? 1.5f : pcg32_to_uniform(r);
        data[i] = (uint8_t)(r >> 24);
    }
    data[0] = 0;
    data[1] = 255;
    int ones = 0, ties = 0;
    for (size_t n = 0; n <= MAX; n += (n < 70 ? 1 : 97)) {
        for (int variant = 0; variant < 32; variant++) {
            const size_t offset = (size_t)(variant & 1); /* unaligned starts */
            const float sign = variant & 2 ? -1.0f : 1.0f;
            float *out = variant & 4 ? NULL : sample + offset;     /* bytes alone */
            const bool streaming = variant & 8;                    /* non-temporal byte stores */
            uint8_t *out_bytes = variant & 16 ? NULL : bytes + offset; /* floats alone */
            Pcg32 fused, reference;
            pcg32_seed(&fused, 3, 8);
            pcg32_advance(&fused, n * 7 + (size_t)variant);
            reference = fused;
            pcg32_fill_uniform(&reference, uniform, n);
            memcpy(row + offset, probability + offset, n * sizeof(float));
            for (size_t i = 5; i < n; i += 9) { /* a tie samples 0 */
                row[offset + i] = uniform[i];
                ties++;
            }
            rbm_bernoulli_signed(expected, row + offset, uniform, sign, n);
            rbm_bernoulli_bytes(expected_bytes, row + offset, uniform, n);
            memset(bytes, 0xAA, sizeof bytes);
            rbm_draw_samples(out, out_bytes, streaming, sign, row + offset, &fused, n);
            assert_true(fused.state == reference.state);
            check_samples(out, expected, out_bytes, expected_bytes, bytes, sizeof bytes, offset, n,
                          streaming);
            rbm_draw_samples(sample + offset, NULL, streaming, sign, row + offset, &fused, 0);
            assert_true(fused.state == reference.state); /* n = 0 draws nothing */
            for (size_t i = 0; i < n; i++)
                ones += expected_bytes[i];

            /* converted 8-bit data, sampled in the same pass */
            const float scale = variant & 2 ? 255.0f : 100.0f;
            pcg32_seed(&fused, 9, 2);
            pcg32_advance(&fused, n * 5 + (size_t)variant);
            reference = fused;
            rbm_bytes_to_probability(expected_converted, data + offset, scale, n);
            pcg32_fill_uniform(&reference, uniform, n);
            rbm_bernoulli_signed(expected, expected_converted, uniform, 1.0f, n);
            rbm_bernoulli_bytes(expected_bytes, expected_converted, uniform, n);
            memset(bytes, 0xAA, sizeof bytes);
            rbm_convert_draw_samples(converted + offset, out, out_bytes, streaming, data + offset,
                                     scale, &fused, n);
            assert_true(fused.state == reference.state);
            assert_memory_equal(converted + offset, expected_converted, n * sizeof(float));
            check_samples(out, expected, out_bytes, expected_bytes, bytes, sizeof bytes, offset, n,
                          streaming);
        }
    }
    assert_true(ones > 1000 && ties > 1000); /* both outcomes, and ties, occurred */
}

static void test_bytes_to_probability(void **state)
{
    (void)state;
    float out[256];
    uint8_t bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (uint8_t)(255 - i);
    rbm_bytes_to_probability(out, bytes, 255.0f, 256);
    for (int i = 0; i < 256; i++) {
        assert_true(out[i] == (float)(255 - i) / 255.0f);
        assert_true(fabs(out[i] - (255 - i) / 255.0) < 1e-7);
    }
    assert_true(out[0] == 1.0f && out[255] == 0.0f);
}

/* The vectorised sums against plain double loops, for widths with and without a tail. */
static void test_difference_sums(void **state)
{
    (void)state;
    enum { ROWS = 7, WIDTH = 53 };
    float a[ROWS * WIDTH], b[ROWS * WIDTH], sums[WIDTH];
    Pcg32 rng;
    pcg32_seed(&rng, 1, 2);
    for (int i = 0; i < ROWS * WIDTH; i++) {
        a[i] = pcg32_uniform_reference(&rng);
        b[i] = pcg32_uniform_reference(&rng);
    }
    for (int width = 1; width <= WIDTH; width += 13) {
        double squares = rbm_difference_sums(sums, a, b, ROWS, width);
        double expected_squares = 0;
        for (int j = 0; j < width; j++) {
            double expected = 0;
            for (int i = 0; i < ROWS; i++) {
                expected += (double)a[i * width + j] - b[i * width + j];
                expected_squares += ((double)a[i * width + j] - b[i * width + j]) *
                                    ((double)a[i * width + j] - b[i * width + j]);
            }
            assert_true(fabs(sums[j] - expected) < 1e-5);
        }
        assert_true(fabs(squares - expected_squares) < 1e-4);
    }
}

static void test_weight_step(void **state)
{
    (void)state;
    float weight[5] = {1, 2, 3, 4, 5}, velocity[5] = {0.5f, -1, 0, 2, 1};
    rbm_weight_step(weight, velocity, 0.1f, 0.01f, false, 1, 5, 5);
    for (int j = 0; j < 5; j++) {
        float v = (float)((double[]){0.5, -1, 0, 2, 1}[j]) - 0.01f * (float)(j + 1);
        assert_true(fabs(velocity[j] - v) < 1e-7);
        assert_true(fabs(weight[j] - ((float)(j + 1) + 0.1f * v)) < 1e-6);
    }
}

/* The streaming form (non-temporal stores, vector body) against the plain loop: the same bits
 * for every start alignment, row length and stride, with and without weight decay. */
static void test_weight_step_streaming_equals_plain(void **state)
{
    (void)state;
    enum { ROWS = 3, STRIDE = 131, SIZE = ROWS * STRIDE };
    enum { BYTES = (SIZE * sizeof(float) + 63) / 64 * 64 }; /* aligned_alloc wants a multiple */
    float original_weight[SIZE], original_velocity[SIZE];
    float *plain_weight = aligned_alloc(64, BYTES), *plain_velocity = aligned_alloc(64, BYTES);
    float *stream_weight = aligned_alloc(64, BYTES), *stream_velocity = aligned_alloc(64, BYTES);
    assert_true(plain_weight && plain_velocity && stream_weight && stream_velocity);
    Pcg32 rng;
    pcg32_seed(&rng, 9, 4);
    for (int decay = 0; decay < 2; decay++)
        for (int64_t first = 0; first < 19; first++)
            for (int64_t columns = 1; first + columns <= STRIDE; columns += 7) {
                for (int j = 0; j < SIZE; j++) {
                    original_weight[j] = plain_weight[j] = stream_weight[j] =
                        pcg32_uniform_reference(&rng) - 0.5f;
                    original_velocity[j] = plain_velocity[j] = stream_velocity[j] =
                        pcg32_uniform_reference(&rng) - 0.5f;
                }
                const float weight_decay = decay ? 0.0002f : 0.0f;
                rbm_weight_step(plain_weight + first, plain_velocity + first, 0.1f, weight_decay,
                                false, ROWS, columns, STRIDE);
                rbm_weight_step(stream_weight + first, stream_velocity + first, 0.1f,
                                weight_decay, true, ROWS, columns, STRIDE);
                assert_memory_equal(plain_weight, stream_weight, SIZE * sizeof(float));
                assert_memory_equal(plain_velocity, stream_velocity, SIZE * sizeof(float));
                /* and both are the formula, row by row, leaving the gaps between rows alone */
                for (int j = 0; j < SIZE; j++) {
                    const int64_t column = j % STRIDE;
                    const bool inside = column >= first && column < first + columns;
                    const float shrink = inside ? weight_decay * original_weight[j] : 0.0f;
                    const float velocity = original_velocity[j] - shrink;
                    const float weight = inside ? original_weight[j] + 0.1f * velocity
                                                : original_weight[j];
                    assert_true(stream_velocity[j] == velocity && stream_weight[j] == weight);
                }
            }
    free(plain_weight);
    free(plain_velocity);
    free(stream_weight);
    free(stream_velocity);
}

/* The bit-count gradient against plain loops over the float samples, packed from floats and from
 * bytes: the same bits, for batches
 * of 1 to 3 words, column counts with and without a vector tail, and padded rows. */
static void test_bit_count_momentum(void **state)
{
    (void)state;
    const int64_t row_counts[] = {1, 63, 64, 65, 100, 130};
    const int64_t column_counts[][2] = {{1, 1}, {7, 13}, {20, 37}, {150, 392}};
    Pcg32 rng;
    pcg32_seed(&rng, 21, 4);
    for (size_t r = 0; r < sizeof row_counts / sizeof row_counts[0]; r++) {
        for (size_t c = 0; c < sizeof column_counts / sizeof column_counts[0]; c++) {
            const int64_t rows = row_counts[r], H = column_counts[c][0], V = column_counts[c][1];
            const int64_t hidden_stride = H + 3, visible_stride = V + 5, words = (rows + 63) / 64;
            float *hidden = malloc(sizeof(float) * (size_t)(rows * hidden_stride));
            float *visible = malloc(sizeof(float) * (size_t)(rows * visible_stride));
            float *velocity = malloc(sizeof(float) * (size_t)(H * (V + 2)));
            float *expected = malloc(sizeof(float) * (size_t)(H * (V + 2)));
            uint64_t *hidden_bits = malloc(sizeof(uint64_t) * (size_t)(words * H));
            uint64_t *visible_bits = malloc(sizeof(uint64_t) * (size_t)(words * V));
            assert_true(hidden && visible && velocity && expected && hidden_bits && visible_bits);
            for (int64_t i = 0; i < rows * hidden_stride; i++) /* h0 samples; padding is not */
                hidden[i] = i % hidden_stride >= H               ? 7.0f
                            : pcg32_uniform_reference(&rng) < 0.5f ? 1.0f
                                                                   : 0.0f;
            for (int64_t i = 0; i < rows * visible_stride; i++) /* v0, or -vn-style signs */
                visible[i] = i % visible_stride >= V              ? 7.0f
                             : pcg32_uniform_reference(&rng) < 0.3f ? (i % 2 ? 1.0f : -1.0f)
                                                                    : 0.0f;
            for (int64_t i = 0; i < H * (V + 2); i++)
                velocity[i] = expected[i] = pcg32_uniform_reference(&rng) - 0.5f;
            const float momentum = 0.9f, scale = 1.0f / (float)rows;
            for (int64_t i = 0; i < H; i++)
                for (int64_t j = 0; j < V; j++) {
                    int count = 0;
                    for (int64_t k = 0; k < rows; k++)
                        count += hidden[k * hidden_stride + i] != 0.0f &&
                                 visible[k * visible_stride + j] != 0.0f;
                    float *e = &expected[i * (V + 2) + j];
                    *e = momentum * *e + scale * (float)count;
                }
            rbm_pack_sample_bits(hidden_bits, hidden, hidden_stride, rows, H);
            rbm_pack_sample_bits(visible_bits, visible, visible_stride, rows, V);
            /* the same bits from the hand-over's 0/1 bytes (their padding not 0 either) */
            uint8_t *visible_bytes = malloc((size_t)(rows * visible_stride));
            uint64_t *byte_bits = malloc(sizeof(uint64_t) * (size_t)(words * V));
            assert_true(visible_bytes && byte_bits);
            for (int64_t i = 0; i < rows * visible_stride; i++)
                visible_bytes[i] = visible[i] != 0.0f;
            rbm_pack_byte_bits(byte_bits, visible_bytes, visible_stride, rows, V);
            assert_memory_equal(byte_bits, visible_bits, sizeof(uint64_t) * (size_t)(words * V));
            free(visible_bytes), free(byte_bits);
            rbm_bit_count_momentum(velocity, V + 2, momentum, scale, hidden_bits, H, visible_bits,
                                   V, words);
            assert_memory_equal(velocity, expected, sizeof(float) * (size_t)(H * (V + 2)));
            free(hidden), free(visible), free(velocity), free(expected);
            free(hidden_bits), free(visible_bits);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigmoid_accuracy),
        cmocka_unit_test(test_sigmoid_vector_equals_scalar),
        cmocka_unit_test(test_sigmoid_every_input),
        cmocka_unit_test(test_sampling_kernels),
        cmocka_unit_test(test_fused_sampling_equals_reference),
        cmocka_unit_test(test_sigmoid_sum_equals_reference),
        cmocka_unit_test(test_bytes_to_probability),
        cmocka_unit_test(test_difference_sums),
        cmocka_unit_test(test_weight_step),
        cmocka_unit_test(test_weight_step_streaming_equals_plain),
        cmocka_unit_test(test_bit_count_momentum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
