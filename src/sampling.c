/*
 * The fused sampling pass (kernels.h: rbm_draw_samples, rbm_convert_draw_samples): each block
 * of uniforms is compared with its probabilities as the generator's lanes make it, and never
 * stored. Three forms give the same bits: AVX-512 (16 lanes, the tail in masked lanes), AVX2
 * (16 lanes in two halves, the tail through a buffer) and, for builds with neither, the
 * reference order in plain C (a block of uniforms from pcg32_fill_uniform, then the
 * comparisons). tests/test_kernels.c compares each with the reference; the build tests the
 * AVX2 form on an AVX-512 machine too (tests/meson.build).
 */
#include "kernels.h"

#include "pcg32_lanes.h"

#if defined(PCG32_AVX512) && defined(__AVX512BW__)
#define FUSED_SAMPLING_AVX512 1
/* The lanes' current block against 16 probabilities, of which the `keep` lanes are stored: as
 * signs, and as bytes where asked for. A streamed block always writes its 16 bytes (zeros past
 * `keep`): a plain store into a line with non-temporal stores pending would cost more. */
static inline void store_samples16(float *sample, uint8_t *bytes, bool streaming, __m512 sign,
                                   __m512 probability, __mmask16 keep, const Pcg32Lanes *lanes)
{
    /* NaN compares false, as the scalar `<` does */
    const __mmask16 on =
        _mm512_mask_cmp_ps_mask(keep, pcg32_lanes_uniform(lanes), probability, _CMP_LT_OQ);
    if (sample)
        _mm512_mask_storeu_ps(sample, keep, _mm512_maskz_mov_ps(on, sign));
    if (bytes && streaming)
        _mm_stream_si128((__m128i *)bytes, _mm_maskz_set1_epi8(on, 1));
    else if (bytes)
        _mm_mask_storeu_epi8(bytes, keep, _mm_maskz_set1_epi8(on, 1));
}

/* The lanes of a block of `count` <= 16 elements */
static inline __mmask16 lanes_of(size_t count) { return (__mmask16)((1u << count) - 1u); }
#elif defined(PCG32_AVX2)
#define FUSED_SAMPLING_AVX2 1
/* Two comparisons' 16 lanes (all ones or zeros) as 16 bytes of 1 or 0, in lane order */
static inline __m128i bytes_of(__m256 first, __m256 second)
{
    __m256i words = _mm256_packs_epi32(_mm256_castps_si256(first), _mm256_castps_si256(second));
    /* packs works within 128-bit halves: first 0-3, second 0-3, first 4-7, second 4-7 */
    words = _mm256_permute4x64_epi64(words, _MM_SHUFFLE(3, 1, 2, 0));
    return _mm_and_si128(_mm_packs_epi16(_mm256_castsi256_si128(words),
                                         _mm256_extracti128_si256(words, 1)),
                         _mm_set1_epi8(1));
}

/* The lanes' current block against 16 probabilities (two halves), stored: as signs, and as
 * bytes where asked for */
static inline void store_samples16(float *sample, uint8_t *bytes, bool streaming, __m256 sign,
                                   __m256 probability_first, __m256 probability_second,
                                   const Pcg32Lanes *lanes)
{
    __m256 uniform_first, uniform_second;
    pcg32_lanes_uniform(lanes, &uniform_first, &uniform_second);
    /* NaN compares false, as the scalar `<` does */
    const __m256 on_first = _mm256_cmp_ps(uniform_first, probability_first, _CMP_LT_OQ);
    const __m256 on_second = _mm256_cmp_ps(uniform_second, probability_second, _CMP_LT_OQ);
    if (sample) {
        _mm256_storeu_ps(sample, _mm256_and_ps(on_first, sign));
        _mm256_storeu_ps(sample + 8, _mm256_and_ps(on_second, sign));
    }
    if (bytes && streaming)
        _mm_stream_si128((__m128i *)bytes, bytes_of(on_first, on_second));
    else if (bytes)
        _mm_storeu_si128((__m128i *)bytes, bytes_of(on_first, on_second));
}

/* The last `rest` < 16 elements: the lanes' next block through a buffer, then the reference's
 * comparisons. A streamed block still writes its 16 bytes, zeros past `rest`: a plain store
 * into a line with non-temporal stores pending would cost more. */
static void store_samples_tail(float *sample, uint8_t *bytes, bool streaming, float sign,
                               const float *probability, const Pcg32Lanes *lanes, size_t rest)
{
    float uniform[PCG32_LANES];
    __m256 first, second;
    pcg32_lanes_uniform(lanes, &first, &second);
    _mm256_storeu_ps(uniform, first);
    _mm256_storeu_ps(uniform + 8, second);
    if (sample)
        rbm_bernoulli_signed(sample, probability, uniform, sign, rest);
    if (bytes && streaming) {
        _Alignas(16) uint8_t block[16] = {0};
        rbm_bernoulli_bytes(block, probability, uniform, rest);
        _mm_stream_si128((__m128i *)bytes, _mm_load_si128((const __m128i *)block));
    } else if (bytes) {
        rbm_bernoulli_bytes(bytes, probability, uniform, rest);
    }
}

/* rbm_bytes_to_probability of 8 bytes, stored and returned */
static inline __m256 convert8(float *probability, const uint8_t *data, __m256 scale)
{
    const __m256 converted = _mm256_div_ps(
        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)data))), scale);
    _mm256_storeu_ps(probability, converted);
    return converted;
}
#endif

#if !defined(FUSED_SAMPLING_AVX512) && !defined(FUSED_SAMPLING_AVX2)
/* Plain stores, with the zeros a streamed last block would write: the same bytes either way */
static void pad_streamed_bytes(uint8_t *bytes, bool streaming, size_t n)
{
    if (streaming && bytes && (uintptr_t)bytes % 16 == 0)
        memset(bytes + n, 0, (n + 15) / 16 * 16 - n);
}

/* The reference order (and the pass for builds without AVX2): a block of uniforms from
 * pcg32_fill_uniform, then the plain comparisons. */
static void draw_samples_blocks(float *sample, uint8_t *bytes, float sign,
                                const float *probability, Pcg32 *rng, size_t n)
{
    float uniform[64];
    for (size_t j = 0; j < n; j += 64) {
        const size_t m = n - j < 64 ? n - j : 64;
        pcg32_fill_uniform(rng, uniform, m);
        if (sample)
            rbm_bernoulli_signed(sample + j, probability + j, uniform, sign, m);
        if (bytes)
            rbm_bernoulli_bytes(bytes + j, probability + j, uniform, m);
    }
}
#endif

void rbm_draw_samples(float *sample, uint8_t *bytes, bool streaming, float sign,
                      const float *probability, Pcg32 *rng, size_t n)
{
#if defined(FUSED_SAMPLING_AVX512)
    streaming = streaming && bytes && (uintptr_t)bytes % 16 == 0;
    Pcg32Lanes lanes = pcg32_lanes_start(rng);
    const __m512 signs = _mm512_set1_ps(sign);
    size_t j = 0;
    for (; j + PCG32_LANES <= n; j += PCG32_LANES) {
        store_samples16(sample ? sample + j : NULL, bytes ? bytes + j : NULL, streaming, signs,
                        _mm512_loadu_ps(probability + j), lanes_of(PCG32_LANES), &lanes);
        pcg32_lanes_step(&lanes);
    }
    const size_t rest = n - j; /* the tail: the lanes' next block, masked */
    if (rest > 0)
        store_samples16(sample ? sample + j : NULL, bytes ? bytes + j : NULL, streaming, signs,
                        _mm512_maskz_loadu_ps(lanes_of(rest), probability + j), lanes_of(rest),
                        &lanes);
    pcg32_lanes_finish(&lanes, rng, rest);
#elif defined(FUSED_SAMPLING_AVX2)
    streaming = streaming && bytes && (uintptr_t)bytes % 16 == 0;
    Pcg32Lanes lanes = pcg32_lanes_start(rng);
    const __m256 signs = _mm256_set1_ps(sign);
    size_t j = 0;
    for (; j + PCG32_LANES <= n; j += PCG32_LANES) {
        store_samples16(sample ? sample + j : NULL, bytes ? bytes + j : NULL, streaming, signs,
                        _mm256_loadu_ps(probability + j), _mm256_loadu_ps(probability + j + 8),
                        &lanes);
        pcg32_lanes_step(&lanes);
    }
    const size_t rest = n - j;
    if (rest > 0)
        store_samples_tail(sample ? sample + j : NULL, bytes ? bytes + j : NULL, streaming, sign,
                           probability + j, &lanes, rest);
    pcg32_lanes_finish(&lanes, rng, rest);
#else
    draw_samples_blocks(sample, bytes, sign, probability, rng, n);
    pad_streamed_bytes(bytes, streaming, n);
#endif
}

#if defined(FUSED_SAMPLING_AVX512)
/* rbm_bytes_to_probability of the `keep` lanes of 16 bytes, stored and returned */
static inline __m512 convert16(float *probability, const uint8_t *data, __m512 scale,
                               __mmask16 keep)
{
    const __m512 converted = _mm512_div_ps(
        _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(keep, data))), scale);
    _mm512_mask_storeu_ps(probability, keep, converted);
    return converted;
}
#endif

void rbm_convert_draw_samples(float *probability, float *sample, uint8_t *bytes, bool streaming,
                              const uint8_t *data, float scale, Pcg32 *rng, size_t n)
{
#if defined(FUSED_SAMPLING_AVX512)
    streaming = streaming && bytes && (uintptr_t)bytes % 16 == 0;
    Pcg32Lanes lanes = pcg32_lanes_start(rng);
    const __m512 one = _mm512_set1_ps(1.0f), scales = _mm512_set1_ps(scale);
    size_t j = 0;
    for (; j + PCG32_LANES <= n; j += PCG32_LANES) {
        const __mmask16 all = lanes_of(PCG32_LANES);
        store_samples16(sample ? sample + j : NULL, bytes ? bytes + j : NULL, streaming, one,
                        convert16(probability + j, data + j, scales, all), all, &lanes);
        pcg32_lanes_step(&lanes);
    }
    const size_t rest = n - j;
    if (rest > 0)
        store_samples16(sample ? sample + j : NULL, bytes ? bytes + j : NULL, streaming, one,
                        convert16(probability + j, data + j, scales, lanes_of(rest)),
                        lanes_of(rest), &lanes);
    pcg32_lanes_finish(&lanes, rng, rest);
#elif defined(FUSED_SAMPLING_AVX2)
    streaming = streaming && bytes && (uintptr_t)bytes % 16 == 0;
    Pcg32Lanes lanes = pcg32_lanes_start(rng);
    const __m256 one = _mm256_set1_ps(1.0f), scales = _mm256_set1_ps(scale);
    size_t j = 0;
    for (; j + PCG32_LANES <= n; j += PCG32_LANES) {
        const __m256 first = convert8(probability + j, data + j, scales);
        const __m256 second = convert8(probability + j + 8, data + j + 8, scales);
        store_samples16(sample ? sample + j : NULL, bytes ? bytes + j : NULL, streaming, one,
                        first, second, &lanes);
        pcg32_lanes_step(&lanes);
    }
    const size_t rest = n - j;
    if (rest > 0) {
        rbm_bytes_to_probability(probability + j, data + j, scale, rest);
        store_samples_tail(sample ? sample + j : NULL, bytes ? bytes + j : NULL, streaming, 1.0f,
                           probability + j, &lanes, rest);
    }
    pcg32_lanes_finish(&lanes, rng, rest);
#else
    rbm_bytes_to_probability(probability, data, scale, n);
    draw_samples_blocks(sample, bytes, 1.0f, probability, rng, n);
    pad_streamed_bytes(bytes, streaming, n);
#endif
}

