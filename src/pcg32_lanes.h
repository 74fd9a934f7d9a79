/* PCG32_LANES outputs of a Pcg32 side by side in vector registers (two AVX-512 ones, or four
 * AVX2 ones on a CPU without AVX-512), for the kernels that use the uniforms as they are made:
 * pcg32_fill_uniform, and the fused sampling pass in sampling.c, which compares them with the
 * probabilities without storing them first. Lane l holds the state of output l, l + LANES,
 * l + 2 LANES... of the serial generator, in both forms: the same outputs in the same order. */
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

#elif defined(__AVX2__)
#include <immintrin.h>
#define PCG32_AVX2 1

typedef struct Pcg32Lanes {
    __m256i state[4];                 /* lanes 0-3, 4-7, 8-11, 12-15 */
    __m256i multiplier, increment;    /* the LCG step applied LANES times */
    __m256i multiplier_high;          /* its upper 32 bits, in each lane's lower half */
} Pcg32Lanes;

/* a * b mod 2^64 in each 64-bit lane (AVX2 multiplies only 32 x 32 -> 64 bits):
 * a_low b_low + ((a_high b_low + a_low b_high) << 32), with b_high = b >> 32. */
static inline __m256i pcg32_multiply64(__m256i a, __m256i b, __m256i b_high)
{
    const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                           _mm256_mul_epu32(a, b_high));
    return _mm256_add_epi64(_mm256_mul_epu32(a, b), _mm256_slli_epi64(cross, 32));
}

static inline Pcg32Lanes pcg32_lanes_start(const Pcg32 *rng)
{
    const __m256i state = _mm256_set1_epi64x((long long)rng->state);
    Pcg32Lanes lanes;
    for (int group = 0; group < 4; group++) {
        const __m256i multiplier =
            _mm256_loadu_si256((const __m256i *)(rng->lane_multiplier + 4 * group));
        lanes.state[group] = _mm256_add_epi64(
            pcg32_multiply64(state, multiplier, _mm256_srli_epi64(multiplier, 32)),
            _mm256_loadu_si256((const __m256i *)(rng->lane_increment + 4 * group)));
    }
    lanes.multiplier = _mm256_set1_epi64x((long long)rng->lane_multiplier[PCG32_LANES]);
    lanes.multiplier_high = _mm256_srli_epi64(lanes.multiplier, 32);
    lanes.increment = _mm256_set1_epi64x((long long)rng->lane_increment[PCG32_LANES]);
    return lanes;
}

/* The lower 32 bits of a's four 64-bit lanes, then b's: eight 32-bit lanes in order. (Shuffles
 * move bits as they are, floats or not.) */
static inline __m256i pcg32_low_halves(__m256i a, __m256i b)
{
    const __m256 mixed = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b),
                                           _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a1 b0 b1 a2 a3 b2 b3 */
    return _mm256_permute4x64_epi64(_mm256_castps_si256(mixed), _MM_SHUFFLE(3, 1, 2, 0));
}

/* Eight lanes' current outputs (the states a, then b) as uniforms, (output >> 8) * 2^-24 */
static inline __m256 pcg32_uniform8(__m256i a, __m256i b)
{
    const __m256i xorshifted = pcg32_low_halves(
        _mm256_srli_epi64(_mm256_xor_si256(_mm256_srli_epi64(a, 18), a), 27),
        _mm256_srli_epi64(_mm256_xor_si256(_mm256_srli_epi64(b, 18), b), 27));
    const __m256i rotation = pcg32_low_halves(_mm256_srli_epi64(a, 59), _mm256_srli_epi64(b, 59));
    /* a rotation by 0 shifts left by 32, which AVX2 makes 0: x | 0, as the scalar form's x | x */
    const __m256i output = _mm256_or_si256(
        _mm256_srlv_epi32(xorshifted, rotation),
        _mm256_sllv_epi32(xorshifted, _mm256_sub_epi32(_mm256_set1_epi32(32), rotation)));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(output, 8)),
                         _mm256_set1_ps(0x1p-24f));
}

/* The lanes' current outputs as uniforms: lanes 0-7 in *first, 8-15 in *second */
static inline void pcg32_lanes_uniform(const Pcg32Lanes *lanes, __m256 *first, __m256 *second)
{
    *first = pcg32_uniform8(lanes->state[0], lanes->state[1]);
    *second = pcg32_uniform8(lanes->state[2], lanes->state[3]);
}

/* Every lane LANES outputs on */
static inline void pcg32_lanes_step(Pcg32Lanes *lanes)
{
    for (int group = 0; group < 4; group++)
        lanes->state[group] = _mm256_add_epi64(
            pcg32_multiply64(lanes->state[group], lanes->multiplier, lanes->multiplier_high),
            lanes->increment);
}

/* Leaves rng at lane `lane`'s state: `lane` outputs after the lanes' current block. */
static inline void pcg32_lanes_finish(const Pcg32Lanes *lanes, Pcg32 *rng, size_t lane)
{
    uint64_t state[PCG32_LANES];
    for (int group = 0; group < 4; group++)
        _mm256_storeu_si256((__m256i *)(state + 4 * group), lanes->state[group]);
    rng->state = state[lane];
}
#endif

#endif
