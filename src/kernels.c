#include "kernels.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
/* rbm_sigmoid_scalar on 16 lanes, operation for operation. gcc's own vectorisation of the
 * scalar form turned the clamps into masks and divided twice per vector (1.3 cycles per
 * element); max and min with the constant first keep the scalar form's answer for NaN too. */
static inline __m512 sigmoid16(__m512 x)
{
    /* -x flips the sign bit, NaN's too (0 - x would keep a NaN's sign) */
    __m512 t = _mm512_castsi512_ps(
        _mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
    t = _mm512_max_ps(_mm512_set1_ps(-87.0f), t); /* t < -87 ? -87 : t (NaN stays) */
    t = _mm512_min_ps(_mm512_set1_ps(87.0f), t);  /* t > 87 ? 87 : t */
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 shifted = _mm512_add_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504f)), magic);
    __m512 k = _mm512_sub_ps(shifted, magic);
    __m512 r = _mm512_sub_ps(t, _mm512_mul_ps(k, _mm512_set1_ps(0.693145752f)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(k, _mm512_set1_ps(1.42860677e-6f)));
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(0.5f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
    __m512i exponent = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(127 - 0x4B400000)), 23);
    __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, _mm512_mul_ps(p, _mm512_castsi512_ps(exponent))));
}
#elif defined(__AVX2__)
/* sigmoid16 on 8 lanes (CPUs without AVX-512), operation for operation */
static inline __m256 sigmoid8(__m256 x)
{
    __m256 t = _mm256_castsi256_ps(
        _mm256_xor_si256(_mm256_castps_si256(x), _mm256_set1_epi32((int)0x80000000u)));
    t = _mm256_max_ps(_mm256_set1_ps(-87.0f), t);
    t = _mm256_min_ps(_mm256_set1_ps(87.0f), t);
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256 shifted = _mm256_add_ps(_mm256_mul_ps(t, _mm256_set1_ps(1.44269504f)), magic);
    __m256 k = _mm256_sub_ps(shifted, magic);
    __m256 r = _mm256_sub_ps(t, _mm256_mul_ps(k, _mm256_set1_ps(0.693145752f)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(k, _mm256_set1_ps(1.42860677e-6f)));
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(0.5f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
    __m256i exponent = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(127 - 0x4B400000)), 23);
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, _mm256_mul_ps(p, _mm256_castsi256_ps(exponent))));
}
#endif

void rbm_sigmoid_bias(float *restrict probability, const float *restrict preactivation,
                      const float *restrict bias, size_t n)
{
    size_t j = 0;
#if defined(__AVX512F__)
    for (; j + 16 <= n; j += 16)
        _mm512_storeu_ps(probability + j,
                         sigmoid16(_mm512_add_ps(_mm512_loadu_ps(preactivation + j),
                                                 _mm512_loadu_ps(bias + j))));
    if (j < n) { /* the tail, in masked lanes */
        const __mmask16 mask = (__mmask16)((1u << (n - j)) - 1u);
        _mm512_mask_storeu_ps(probability + j, mask,
                              sigmoid16(_mm512_add_ps(_mm512_maskz_loadu_ps(mask, preactivation + j),
                                                      _mm512_maskz_loadu_ps(mask, bias + j))));
        return;
    }
#elif defined(__AVX2__)
    for (; j + 8 <= n; j += 8) /* the tail, below, in the scalar form: the same values */
        _mm256_storeu_ps(probability + j,
                         sigmoid8(_mm256_add_ps(_mm256_loadu_ps(preactivation + j),
                                                _mm256_loadu_ps(bias + j))));
#endif
    for (; j < n; j++)
        probability[j] = rbm_sigmoid_scalar(preactivation[j] + bias[j]);
}

void rbm_sigmoid_sum_bias(float *restrict probability, const float *restrict parts,
                          int64_t stride, int64_t count, const float *restrict bias, size_t n)
{
    size_t j = 0;
#if defined(__AVX512F__)
    for (; j < n; j += 16) {
        const __mmask16 mask = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1u);
        __m512 sum = _mm512_maskz_loadu_ps(mask, parts + j);
        for (int64_t s = 1; s < count; s++)
            sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(mask, parts + s * stride + j));
        _mm512_mask_storeu_ps(probability + j, mask,
                              sigmoid16(_mm512_add_ps(sum, _mm512_maskz_loadu_ps(mask, bias + j))));
    }
#elif defined(__AVX2__)
    for (; j + 8 <= n; j += 8) {
        __m256 sum = _mm256_loadu_ps(parts + j);
        for (int64_t s = 1; s < count; s++)
            sum = _mm256_add_ps(sum, _mm256_loadu_ps(parts + s * stride + j));
        _mm256_storeu_ps(probability + j, sigmoid8(_mm256_add_ps(sum, _mm256_loadu_ps(bias + j))));
    }
#endif
    for (; j < n; j++) {
        float sum = parts[j];
        for (int64_t s = 1; s < count; s++)
            sum += parts[s * stride + j];
        probability[j] = rbm_sigmoid_scalar(sum + bias[j]);
    }
}

void rbm_bernoulli_signed(float *restrict sample, const float *restrict probability,
                          const float *restrict uniform, float sign, size_t n)
{
    for (size_t j = 0; j < n; j++)
        sample[j] = uniform[j] < probability[j] ? sign : 0.0f;
}

void rbm_bernoulli_bytes(uint8_t *restrict sample, const float *restrict probability,
                         const float *restrict uniform, size_t n)
{
    for (size_t j = 0; j < n; j++)
        sample[j] = uniform[j] < probability[j];
}

void rbm_streaming_fence(void)
{
#ifdef __SSE2__
    _mm_sfence();
#endif
}

void rbm_bytes_to_samples(float *restrict sample, const uint8_t *restrict bytes, float sign,
                          size_t n)
{
    for (size_t j = 0; j < n; j++)
        sample[j] = bytes[j] ? sign : 0.0f;
}

void rbm_pack_sample_bits(uint64_t *restrict bits, const float *restrict samples, int64_t stride,
                          int64_t rows, int64_t columns)
{
    const int64_t words = (rows + 63) / 64;
    memset(bits, 0, (size_t)(words * columns) * sizeof *bits);
    for (int64_t r = 0; r < rows; r++) {
        uint64_t *restrict word = bits + (r / 64) * columns;
        const uint64_t bit = (uint64_t)1 << (r % 64);
        const float *restrict row = samples + r * stride;
        for (int64_t c = 0; c < columns; c++)
            word[c] |= row[c] != 0.0f ? bit : 0;
    }
}

#if defined(__AVX2__)
/* The words of 32 columns for rows [first, first + 64) (up to `rows`): each row's 0/1 bytes
 * shifted to bit r % 8 and OR-ed, 8 rows to a byte (column c's byte j holds rows 8j..8j+7),
 * then the 8 x 32 bytes transposed into 32 words, two per 128-bit half. */
static void pack_byte_bits_32(uint64_t *restrict word, const uint8_t *restrict bytes,
                              int64_t stride, int64_t first, int64_t rows)
{
    const __m256i one = _mm256_set1_epi8(1);
    __m256i eighths[8];
    for (int j = 0; j < 8; j++) {
        __m256i bits = _mm256_setzero_si256();
        for (int r = 0; r < 8 && first + 8 * j + r < rows; r++) {
            const __m256i row = _mm256_min_epu8(
                _mm256_loadu_si256((const __m256i *)(bytes + (first + 8 * j + r) * stride)), one);
            /* 16-bit shifts: a byte's 0/1 moves at most to bit 7, never into the next byte */
            bits = _mm256_or_si256(bits, _mm256_sll_epi16(row, _mm_cvtsi32_si128(r)));
        }
        eighths[j] = bits;
    }
    __m256i pairs[8], quads[8];
    for (int j = 0; j < 8; j += 2) { /* bytes of j and j + 1 side by side, per column */
        pairs[j] = _mm256_unpacklo_epi8(eighths[j], eighths[j + 1]);
        pairs[j + 1] = _mm256_unpackhi_epi8(eighths[j], eighths[j + 1]);
    }
    for (int j = 0; j < 8; j += 4) /* 4 bytes per column: columns 0-3, 4-7 (of 8 + 8) */
        for (int h = 0; h < 2; h++) {
            quads[j + 2 * h] = _mm256_unpacklo_epi16(pairs[j + h], pairs[j + 2 + h]);
            quads[j + 2 * h + 1] = _mm256_unpackhi_epi16(pairs[j + h], pairs[j + 2 + h]);
        }
    /* quads[0..3]: rows 0-31 of columns 0-3, 4-7, 8-11, 12-15 (and 16-31 in the high half);
     * quads[4..7] rows 32-63 of the same */
    for (int q = 0; q < 4; q++) {
        const __m256i low = _mm256_unpacklo_epi32(quads[q], quads[4 + q]);
        const __m256i high = _mm256_unpackhi_epi32(quads[q], quads[4 + q]);
        _mm_storeu_si128((__m128i *)(word + 4 * q), _mm256_castsi256_si128(low));
        _mm_storeu_si128((__m128i *)(word + 4 * q + 2), _mm256_castsi256_si128(high));
        _mm_storeu_si128((__m128i *)(word + 16 + 4 * q), _mm256_extracti128_si256(low, 1));
        _mm_storeu_si128((__m128i *)(word + 16 + 4 * q + 2), _mm256_extracti128_si256(high, 1));
    }
}
#endif

void rbm_pack_byte_bits(uint64_t *restrict bits, const uint8_t *restrict bytes, int64_t stride,
                        int64_t rows, int64_t columns)
{
    const int64_t words = (rows + 63) / 64;
    int64_t first_column = 0;
#if defined(__AVX2__) /* 22 -> 3 us for 100 x 784 bytes on Zen 3 */
    for (; first_column + 32 <= columns; first_column += 32)
        for (int64_t w = 0; w < words; w++)
            pack_byte_bits_32(bits + w * columns + first_column, bytes + first_column, stride,
                              64 * w, rows);
#endif
    for (int64_t w = 0; w < words; w++)
        for (int64_t c = first_column; c < columns; c++)
            bits[w * columns + c] = 0;
    for (int64_t r = 0; r < rows; r++) {
        uint64_t *restrict word = bits + (r / 64) * columns;
        const int shift = (int)(r % 64);
        const uint8_t *restrict row = bytes + r * stride;
        for (int64_t c = first_column; c < columns; c++)
            word[c] |= (uint64_t)(row[c] != 0) << shift;
    }
}

static inline float count_momentum(float velocity, float momentum, float scale, int count)
{
    return momentum * velocity + scale * (float)count;
}

void rbm_bit_count_momentum(float *restrict velocity, int64_t stride, float momentum, float scale,
                            const uint64_t *restrict first_bits, int64_t first_columns,
                            const uint64_t *restrict second_bits, int64_t second_columns,
                            int64_t words)
{
    for (int64_t i = 0; i < first_columns; i++) {
        float *restrict out = velocity + i * stride;
        int64_t j = 0;
#if defined(__AVX512VPOPCNTDQ__) && defined(__AVX512DQ__)
        /* 8 columns at a time: AND the words, count the bits of each 64-bit lane */
        const __m256 rate = _mm256_set1_ps(momentum), step = _mm256_set1_ps(scale);
        for (; j + 8 <= second_columns; j += 8) {
            __m512i count = _mm512_setzero_si512();
            for (int64_t w = 0; w < words; w++)
                count = _mm512_add_epi64(
                    count, _mm512_popcnt_epi64(_mm512_and_si512(
                               _mm512_set1_epi64((long long)first_bits[w * first_columns + i]),
                               _mm512_loadu_si512(second_bits + w * second_columns + j))));
            const __m256 counts = _mm512_cvtepi64_ps(count); /* exact: counts < 2^24 */
            _mm256_storeu_ps(out + j, _mm256_add_ps(_mm256_mul_ps(rate, _mm256_loadu_ps(out + j)),
                                                    _mm256_mul_ps(step, counts)));
        }
#endif
        for (; j < second_columns; j++) {
            int count = 0;
            for (int64_t w = 0; w < words; w++)
                count += __builtin_popcountll(first_bits[w * first_columns + i] &
                                              second_bits[w * second_columns + j]);
            out[j] = count_momentum(out[j], momentum, scale, count);
        }
    }
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

/* Plain stores up to the first address aligned to VECTOR floats (the streaming stores require
 * it), then VECTOR floats a step with non-temporal stores. */
#define STREAMING_LOOP(VECTOR, TYPE, SET1, LOAD, LOADU, ADD, MUL, STREAM)                         \
    for (; j < n && (uintptr_t)(weight + j) % (VECTOR * sizeof(float)); j++)                      \
        weight[j] += learning_rate * velocity[j];                                                  \
    const TYPE rate = SET1(learning_rate);                                                         \
    for (; j + VECTOR <= n; j += VECTOR)                                                           \
        STREAM(weight + j, ADD(LOAD(weight + j), MUL(rate, LOADU(velocity + j))));

/* weight[j] += learning_rate * velocity[j] over one row, written with non-temporal stores where
 * the row's addresses allow: the same arithmetic as the plain loop (no contraction), so the
 * same values. */
static void add_velocity_streaming(float *restrict weight, const float *restrict velocity,
                                   float learning_rate, int64_t n)
{
    int64_t j = 0;
#if defined(__AVX512F__)
    STREAMING_LOOP(16, __m512, _mm512_set1_ps, _mm512_load_ps, _mm512_loadu_ps, _mm512_add_ps,
                   _mm512_mul_ps, _mm512_stream_ps)
#elif defined(__AVX__)
    STREAMING_LOOP(8, __m256, _mm256_set1_ps, _mm256_load_ps, _mm256_loadu_ps, _mm256_add_ps,
                   _mm256_mul_ps, _mm256_stream_ps)
#elif defined(__SSE2__)
    STREAMING_LOOP(4, __m128, _mm_set1_ps, _mm_load_ps, _mm_loadu_ps, _mm_add_ps, _mm_mul_ps,
                   _mm_stream_ps)
#endif
    for (; j < n; j++)
        weight[j] += learning_rate * velocity[j];
}
#undef STREAMING_LOOP

void rbm_weight_step(float *restrict weight, float *restrict velocity, float learning_rate,
                     float weight_decay, bool streaming, int64_t rows, int64_t columns,
                     int64_t stride)
{
    for (int64_t i = 0; i < rows; i++) {
        float *restrict weight_row = weight + i * stride;
        float *restrict velocity_row = velocity + i * stride;
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
    if (streaming) /* non-temporal stores are weakly ordered: publish them before the barrier */
        _mm_sfence();
#endif
}
