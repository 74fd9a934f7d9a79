#include "pcg32.h"

#include <string.h>

#include "pcg32_lanes.h"

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
    size_t i = 0;
#ifdef PCG32_AVX512
    /* Lane l produces outputs l, l + LANES, l + 2 LANES...: independent LCG chains in vector
     * multiplies instead of one serial chain (pcg32_lanes.h); the last block's unused lanes
     * are masked off. */
    if (n > 0) {
        Pcg32Lanes lanes = pcg32_lanes_start(rng);
        for (; i + PCG32_LANES <= n; i += PCG32_LANES) {
            _mm512_storeu_ps(out + i, pcg32_lanes_uniform(&lanes));
            pcg32_lanes_step(&lanes);
        }
        const size_t rest = n - i;
        _mm512_mask_storeu_ps(out + i, (__mmask16)((1u << rest) - 1u), pcg32_lanes_uniform(&lanes));
        pcg32_lanes_finish(&lanes, rng, rest);
    }
#elif defined(PCG32_AVX2)
    /* The same lanes in four AVX2 registers; the last block goes through a buffer */
    if (n > 0) {
        Pcg32Lanes lanes = pcg32_lanes_start(rng);
        __m256 first, second;
        for (; i + PCG32_LANES <= n; i += PCG32_LANES) {
            pcg32_lanes_uniform(&lanes, &first, &second);
            _mm256_storeu_ps(out + i, first);
            _mm256_storeu_ps(out + i + 8, second);
            pcg32_lanes_step(&lanes);
        }
        const size_t rest = n - i;
        float block[PCG32_LANES];
        pcg32_lanes_uniform(&lanes, &first, &second);
        _mm256_storeu_ps(block, first);
        _mm256_storeu_ps(block + 8, second);
        memcpy(out + i, block, rest * sizeof *out);
        pcg32_lanes_finish(&lanes, rng, rest);
    }
#else
    /* The same lanes in plain C (the compiler makes what it can of the 64-bit multiplies) */
    uint64_t lanes[PCG32_LANES];
    const uint64_t step_mult = rng->lane_multiplier[PCG32_LANES];
    const uint64_t step_add = rng->lane_increment[PCG32_LANES];
    for (int l = 0; l < PCG32_LANES; l++)
        lanes[l] = rng->state * rng->lane_multiplier[l] + rng->lane_increment[l];
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
#endif
}
