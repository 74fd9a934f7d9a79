/* The element-wise work of contrastive divergence: sigmoid, Bernoulli sampling, conversion.
 * Kernels take outputs first, then inputs, then sizes (as in llm.c). Each has a plain reference
 * beside it (rbm_sigmoid_scalar, pcg32_uniform_reference) and a test comparing the two.
 *
 * Same bits in every position: the vectorised loops use the same arithmetic as the scalar
 * form (the build turns off floating-point contraction), so where a row starts or ends never
 * changes a value. */
#ifndef RBM_KERNELS_H
#define RBM_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pcg32.h"

/* sigmoid(x) = 1 / (1 + exp(-x)), with exp from a Cody-Waite reduction and a degree-6
 * polynomial: within 2e-7 of the exact value, and the same code for every lane. */
static inline float rbm_sigmoid_scalar(float x)
{
    float t = -x;
    t = t < -87.0f ? -87.0f : t;
    t = t > 87.0f ? 87.0f : t;
    /* Adding 1.5 * 2^23 rounds to an integer k, which then sits in the low mantissa bits: read
     * it from there (no float-to-int conversion, which would be undefined for a NaN input). */
    const float magic = 12582912.0f;
    float shifted = t * 1.44269504f + magic;
    float k = shifted - magic;
    float r = t - k * 0.693145752f;   /* ln 2, high part */
    r = r - k * 1.42860677e-6f;       /* ln 2, low part */
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t shifted_bits;
    memcpy(&shifted_bits, &shifted, sizeof shifted_bits);
    uint32_t exponent_bits = (shifted_bits - 0x4B400000u + 127u) << 23; /* 2^k */
    float two_to_k;
    memcpy(&two_to_k, &exponent_bits, sizeof two_to_k);
    return 1.0f / (1.0f + p * two_to_k);
}

/* probability[j] = sigmoid(preactivation[j] + bias[j]) */
void rbm_sigmoid_bias(float *probability, const float *preactivation, const float *bias, size_t n);

/* probability[j] = sigmoid(sum + bias[j]), sum = parts[j] + parts[stride + j] + ... over `count`
 * parts added in that order: split = hidden's reconstruction from its strips' partial products,
 * in one pass (the reference: a copy of the first part, the others added, rbm_sigmoid_bias). */
void rbm_sigmoid_sum_bias(float *probability, const float *parts, int64_t stride, int64_t count,
                          const float *bias, size_t n);

/* sample[j] = (uniform[j] < probability[j]) ? sign : 0 */
void rbm_bernoulli_signed(float *sample, const float *probability, const float *uniform,
                          float sign, size_t n);

/* sample[j] = uniform[j] < probability[j] as a 0/1 byte: the reference for the hand-over bytes
 * of rbm_draw_samples (and its pass in builds without AVX-512) */
void rbm_bernoulli_bytes(uint8_t *sample, const float *probability, const float *uniform,
                         size_t n);

/* The fused sampling pass. With u_j the generator's next n uniforms (the values
 * pcg32_fill_uniform gives, and the generator left n outputs further), s_j = u_j < probability[j]:
 *     sample[j] = s_j ? sign : 0   (unless sample is NULL)
 *     bytes[j]  = s_j              (unless bytes is NULL)
 * The uniforms are compared as they are made, 16 lanes at a time, never stored: one pass where
 * pcg32_fill_uniform and rbm_bernoulli_signed / rbm_bernoulli_bytes (the reference) make two.
 * With `streaming` and bytes 16-byte aligned, the bytes are written with non-temporal stores
 * in whole 16-byte blocks, zeros past n: the caller gives room up to the next multiple of 16
 * (the hand-over's rows are rbm_byte_stride apart), and calls rbm_streaming_fence() before
 * other threads may read them (once per unit of work: a fence per row cost more than it saved).
 * They are the samples handed to other workers, whose caches hold these lines from the last
 * batch: a plain store must first take each line back from them (as in rbm_weight_step).
 * Measurements: BENCHMARKS.md, "Session 6". */
void rbm_draw_samples(float *sample, uint8_t *bytes, bool streaming, float sign,
                      const float *probability, Pcg32 *rng, size_t n);

/* Orders the non-temporal stores before it before every later store (an x86 sfence): what a
 * worker streamed is then in memory when it reaches the next barrier. */
void rbm_streaming_fence(void);

/* rbm_draw_samples with 0/1 signs, after the same pass has converted 8-bit data:
 * probability[j] = data[j] / scale (rbm_bytes_to_probability) is stored, then sampled. */
void rbm_convert_draw_samples(float *probability, float *sample, uint8_t *bytes, bool streaming,
                              const uint8_t *data, float scale, Pcg32 *rng, size_t n);

/* sample[j] = bytes[j] ? sign : 0: a worker's own float copy of handed-over 0/1 samples */
void rbm_bytes_to_samples(float *sample, const uint8_t *bytes, float sign, size_t n);

/* bits[w * columns + c], bit r % 64 of word w = r / 64: samples[r * stride + c] != 0, for rows
 * r < rows; the words are ceil(rows / 64) per column, their bits past `rows` 0. */
void rbm_pack_sample_bits(uint64_t *bits, const float *samples, int64_t stride, int64_t rows,
                          int64_t columns);

/* rbm_pack_sample_bits from 0/1 bytes (the samples handed over between workers): bit r % 64 of
 * bits[(r / 64) * columns + c] = bytes[r * stride + c] != 0. */
void rbm_pack_byte_bits(uint64_t *bits, const uint8_t *bytes, int64_t stride, int64_t rows,
                        int64_t columns);

/* velocity[i * stride + j] = momentum * velocity[i * stride + j] + scale * count(i, j), with
 * count(i, j) the number of rows where column i of the first and column j of the second packed
 * matrix are both 1, for i < first_columns, j < second_columns. The counts are exact integers:
 * h0^T v0 without a floating-point sum (bit_counts = true). */
void rbm_bit_count_momentum(float *velocity, int64_t stride, float momentum, float scale,
                            const uint64_t *first_bits, int64_t first_columns,
                            const uint64_t *second_bits, int64_t second_columns, int64_t words);

/* probability[j] = (float)bytes[j] / scale: 8-bit data to probabilities. Division (not a
 * multiplication by 1/scale) keeps 255 / 255 exactly 1. */
void rbm_bytes_to_probability(float *probability, const uint8_t *bytes, float scale, size_t n);

/* sums[j] = sum over rows i of (a[i][j] - b[i][j]), rows added in order; returns the sum of
 * all squared differences (in double, row by row). */
double rbm_difference_sums(float *sums, const float *a, const float *b, int64_t rows,
                           int64_t width);

/* For `rows` rows, `stride` floats apart, of `columns` floats each: with weight decay,
 * velocity[j] -= weight_decay * weight[j]; then weight[j] += learning_rate * velocity[j].
 * With `streaming`, the weights are written with non-temporal stores, which bypass the caches
 * (the same values, and a store fence at the end). The trainer streams when other workers read
 * these weights in the last batch and will again in the next: a plain store must first fetch
 * each line from the other core and invalidate its copy (a read for ownership), while a
 * non-temporal store writes whole lines without fetching them. bench/shared_writes.c, 2 threads
 * on a 300 x 784 array: 78 us per pass with plain stores, 29 us streamed; at 1 thread, where
 * nothing is shared, streaming is the slower (55 against 32 us), so one worker does not. */
void rbm_weight_step(float *weight, float *velocity, float learning_rate, float weight_decay,
                     bool streaming, int64_t rows, int64_t columns, int64_t stride);

#endif
