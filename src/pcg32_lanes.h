/* PCG32_LANES outputs of a Pcg32 side by side in two AVX-512 registers, for the kernels that use
 * the uniforms as they are made: pcg32_fill_uniform, and the fused sampling pass in kernels.c,
 * which compares them with the probabilities without storing them first. Lane l holds the
 * state of output l, l + LANES, l + 2 LANES... of the serial generator. */
#ifndef RBM_PCG32_LANES_H
#define RBM_PCG32_LANES_H

#include "pcg32.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#include <immintrin.h>
#define PCG32_AVX512 1

typedef struct Pcg32Lanes {
    __m512i low, high;              /* lanes 0-7 and 8-15 */
    __m512i multiplier, increment;  /* the LCG step applied LANES times */
} Pcg32Lanes;

static inline Pcg32Lanes pcg32_lanes_start(const Pcg32 *rng)
{
    const __m512i state = _mm512_set1_epi64((long long)rng->state);
    Pcg32Lanes lanes;
    lanes.low = _mm512_add_epi64(
        _mm512_mullo_epi64(state, _mm512_loadu_si512(rng->lane_multiplier)),
        _mm512_loadu_si512(rng->lane_increment));
    lanes.high = _mm512_add_epi64(
        _mm512_mullo_epi64(state, _mm512_loadu_si512(rng->lane_multiplier + 8)),
        _mm512_loadu_si512(rng->lane_increment + 8));
    lanes.multiplier = _mm512_set1_epi64((long long)rng->lane_multiplier[PCG32_LANES]);
    lanes.increment = _mm512_set1_epi64((long long)rng->lane_increment[PCG32_LANES]);
    return lanes;
}

/* The lanes' current outputs as uniforms, (output >> 8) * 2^-24 (pcg32_to_uniform) */
static inline __m512 pcg32_lanes_uniform(const Pcg32Lanes *lanes)
{
    __m256i xor_low = _mm512_cvtepi64_epi32(_mm512_srli_epi64(
        _mm512_xor_si512(_mm512_srli_epi64(lanes->low, 18), lanes->low), 27));
    __m256i xor_high = _mm512_cvtepi64_epi32(_mm512_srli_epi64(
        _mm512_xor_si512(_mm512_srli_epi64(lanes->high, 18), lanes->high), 27));
    __m256i rot_low = _mm512_cvtepi64_epi32(_mm512_srli_epi64(lanes->low, 59));
    __m256i rot_high = _mm512_cvtepi64_epi32(_mm512_srli_epi64(lanes->high, 59));
    __m512i output = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_rorv_epi32(xor_low, rot_low)),
        _mm256_rorv_epi32(xor_high, rot_high), 1);
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(output, 8)),
                         _mm512_set1_ps(0x1p-24f));
}

/* Every lane LANES outputs on */
static inline void pcg32_lanes_step(Pcg32Lanes *lanes)
{
    lanes->low = _mm512_add_epi64(_mm512_mullo_epi64(lanes->low, lanes->multiplier),
                                  lanes->increment);
    lanes->high = _mm512_add_epi64(_mm512_mullo_epi64(lanes->high, lanes->multiplier),
                                   lanes->increment);
}

/* Leaves rng at lane `lane`'s state: `lane` outputs after the lanes' current block. */
static inline void pcg32_lanes_finish(const Pcg32Lanes *lanes, Pcg32 *rng, size_t lane)
{
    uint64_t state[PCG32_LANES];
    _mm512_storeu_si512(state, lanes->low);
    _mm512_storeu_si512(state + 8, lanes->high);
    rng->state = state[lane];
}
#endif

#endif
