#include "kernels.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

void rbm_sigmoid_bias(float *restrict probability, const float *restrict preactivation,
                      const float *restrict bias, size_t n)
{
    for (size_t j = 0; j < n; j++)
        probability[j] = rbm_sigmoid_scalar(preactivation[j] + bias[j]);
}

void rbm_bernoulli_signed(float *restrict sample, const float *restrict probability,
                          const float *restrict uniform, float sign, size_t n)
{
    for (size_t j = 0; j < n; j++)
        sample[j] = uniform[j] < probability[j] ? sign : 0.0f;
}

void rbm_bytes_to_probability(float *restrict probability, const uint8_t *restrict bytes,
                              float scale, size_t n)
{
    for (size_t j = 0; j < n; j++)
        probability[j] = (float)bytes[j] / scale;
}

double rbm_difference_sums(float *restrict sums, const float *restrict a,
                           const float *restrict b, int64_t rows, int64_t width)
{
    /* Squares are summed in 16 interleaved partial sums, combined in a fixed order: the same
     * result every time, and a loop the compiler can vectorise. */
    enum { LANES = 16 };
    double squares = 0;
    for (int64_t j = 0; j < width; j++)
        sums[j] = 0.0f;
    for (int64_t i = 0; i < rows; i++) {
        const float *row_a = a + i * width, *row_b = b + i * width;
        float partial[LANES] = {0};
        int64_t j = 0;
        for (; j + LANES <= width; j += LANES) {
            for (int l = 0; l < LANES; l++) {
                float difference = row_a[j + l] - row_b[j + l];
                sums[j + l] += difference;
                partial[l] += difference * difference;
            }
        }
        for (int l = 0; j + l < width; l++) {
            float difference = row_a[j + l] - row_b[j + l];
            sums[j + l] += difference;
            partial[l] += difference * difference;
        }
        float row_squares = 0.0f;
        for (int l = 0; l < LANES; l++)
            row_squares += partial[l];
        squares += row_squares;
    }
    return squares;
}

/* weight[j] += learning_rate * velocity[j] over one row, written with non-temporal stores where
 * the row's addresses allow: the same arithmetic as the plain loop (no contraction), so the
 * same values. */
static void add_velocity_streaming(float *restrict weight, const float *restrict velocity,
                                   float learning_rate, int64_t n)
{
    int64_t j = 0;
#if defined(__AVX512F__)
    enum { ALIGN = 64 };
    for (; j < n && ((uintptr_t)(weight + j) & (ALIGN - 1)); j++)
        weight[j] += learning_rate * velocity[j];
    const __m512 rate = _mm512_set1_ps(learning_rate);
    for (; j + 16 <= n; j += 16)
        _mm512_stream_ps(weight + j, _mm512_add_ps(_mm512_load_ps(weight + j),
                                                   _mm512_mul_ps(rate, _mm512_loadu_ps(velocity + j))));
#elif defined(__AVX__)
    enum { ALIGN = 32 };
    for (; j < n && ((uintptr_t)(weight + j) & (ALIGN - 1)); j++)
        weight[j] += learning_rate * velocity[j];
    const __m256 rate = _mm256_set1_ps(learning_rate);
    for (; j + 8 <= n; j += 8)
        _mm256_stream_ps(weight + j, _mm256_add_ps(_mm256_load_ps(weight + j),
                                                   _mm256_mul_ps(rate, _mm256_loadu_ps(velocity + j))));
#elif defined(__SSE2__)
    enum { ALIGN = 16 };
    for (; j < n && ((uintptr_t)(weight + j) & (ALIGN - 1)); j++)
        weight[j] += learning_rate * velocity[j];
    const __m128 rate = _mm_set1_ps(learning_rate);
    for (; j + 4 <= n; j += 4)
        _mm_stream_ps(weight + j, _mm_add_ps(_mm_load_ps(weight + j),
                                             _mm_mul_ps(rate, _mm_loadu_ps(velocity + j))));
#endif
    for (; j < n; j++)
        weight[j] += learning_rate * velocity[j];
}

void rbm_weight_step(float *restrict weight, float *restrict velocity, float learning_rate,
                     float weight_decay, int64_t rows, int64_t columns, int64_t stride,
                     bool streaming)
{
    for (int64_t i = 0; i < rows; i++) {
        float *restrict weight_row = weight + i * stride, *restrict velocity_row = velocity + i * stride;
        if (weight_decay != 0.0f)
            for (int64_t j = 0; j < columns; j++)
                velocity_row[j] -= weight_decay * weight_row[j];
        if (streaming) {
            add_velocity_streaming(weight_row, velocity_row, learning_rate, columns);
        } else {
            for (int64_t j = 0; j < columns; j++)
                weight_row[j] += learning_rate * velocity_row[j];
        }
    }
#ifdef __SSE2__
    if (streaming) /* non-temporal stores are weakly ordered: make them visible before the barrier */
        _mm_sfence();
#endif
}
