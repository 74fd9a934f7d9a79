#include "pcg32.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#include <immintrin.h>
#define PCG32_AVX512 1
#endif

/* The LCG step applied `delta` times: state * multiplier + increment (Brown's algorithm). */
static void lcg_jump(uint64_t delta, uint64_t multiplier, uint64_t increment, uint64_t *jump_mult,
                     uint64_t *jump_add)
{
    uint64_t accumulated_mult = 1, accumulated_add = 0;
    while (delta > 0) {
        if (delta & 1) {
            accumulated_mult *= multiplier;
            accumulated_add = accumulated_add * multiplier + increment;
        }
        increment = (multiplier + 1) * increment;
        multiplier *= multiplier;
        delta >>= 1;
    }
    *jump_mult = accumulated_mult;
    *jump_add = accumulated_add;
}

void pcg32_seed(Pcg32 *rng, uint64_t seed, uint64_t stream)
{
    rng->increment = (stream << 1) | 1u;
    for (int lane = 0; lane <= PCG32_LANES; lane++)
        lcg_jump((uint64_t)lane, PCG32_MULTIPLIER, rng->increment, &rng->lane_multiplier[lane],
                 &rng->lane_increment[lane]);
    rng->state = 0;
    pcg32_next(rng);
    rng->state += seed;
    pcg32_next(rng);
}

static inline uint32_t output_of(uint64_t state)
{
    uint32_t xorshifted = (uint32_t)(((state >> 18) ^ state) >> 27);
    uint32_t rotation = (uint32_t)(state >> 59);
    return (xorshifted >> rotation) | (xorshifted << ((-rotation) & 31));
}

uint32_t pcg32_next(Pcg32 *rng)
{
    uint64_t old = rng->state;
    rng->state = old * PCG32_MULTIPLIER + rng->increment;
    return output_of(old);
}

void pcg32_advance(Pcg32 *rng, uint64_t delta)
{
    uint64_t multiplier, add;
    lcg_jump(delta, PCG32_MULTIPLIER, rng->increment, &multiplier, &add);
    rng->state = rng->state * multiplier + add;
}

void pcg32_fill_uniform(Pcg32 *rng, float *out, size_t n)
{
    /* Lane l produces outputs l, l + LANES, l + 2 LANES...: independent LCG chains that the
     * compiler turns into vector multiplies, instead of one serial chain. */
    uint64_t lanes[PCG32_LANES];
    const uint64_t step_mult = rng->lane_multiplier[PCG32_LANES];
    const uint64_t step_add = rng->lane_increment[PCG32_LANES];
    for (int l = 0; l < PCG32_LANES; l++)
        lanes[l] = rng->state * rng->lane_multiplier[l] + rng->lane_increment[l];
    size_t i = 0;
#ifdef PCG32_AVX512
    /* The same arithmetic, 8 lanes per register; two registers hide the multiply's latency. */
    if (n >= PCG32_LANES) {
        __m512i low = _mm512_loadu_si512(lanes), high = _mm512_loadu_si512(lanes + 8);
        const __m512i multiplier = _mm512_set1_epi64((long long)step_mult);
        const __m512i increment = _mm512_set1_epi64((long long)step_add);
        const __m512 scale = _mm512_set1_ps(0x1p-24f);
        for (; i + PCG32_LANES <= n; i += PCG32_LANES) {
            __m256i xor_low = _mm512_cvtepi64_epi32(
                _mm512_srli_epi64(_mm512_xor_si512(_mm512_srli_epi64(low, 18), low), 27));
            __m256i xor_high = _mm512_cvtepi64_epi32(
                _mm512_srli_epi64(_mm512_xor_si512(_mm512_srli_epi64(high, 18), high), 27));
            __m256i rot_low = _mm512_cvtepi64_epi32(_mm512_srli_epi64(low, 59));
            __m256i rot_high = _mm512_cvtepi64_epi32(_mm512_srli_epi64(high, 59));
            __m512i output = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_rorv_epi32(xor_low, rot_low)),
                _mm256_rorv_epi32(xor_high, rot_high), 1);
            __m512 uniform = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(output, 8)), scale);
            _mm512_storeu_ps(out + i, uniform);
            low = _mm512_add_epi64(_mm512_mullo_epi64(low, multiplier), increment);
            high = _mm512_add_epi64(_mm512_mullo_epi64(high, multiplier), increment);
        }
        _mm512_storeu_si512(lanes, low);
        _mm512_storeu_si512(lanes + 8, high);
    }
#endif
    for (; i + PCG32_LANES <= n; i += PCG32_LANES) {
        for (int l = 0; l < PCG32_LANES; l++) {
            out[i + l] = pcg32_to_uniform(output_of(lanes[l]));
            lanes[l] = lanes[l] * step_mult + step_add;
        }
    }
    size_t rest = n - i;
    for (size_t l = 0; l < rest; l++)
        out[i + l] = pcg32_to_uniform(output_of(lanes[l]));
    rng->state = lanes[rest];
}
