/* PCG32 (XSH-RR: 64-bit LCG state, 32-bit output), M. E. O'Neill, pcg-random.org, with stream
 * selection and O(log n) jumps (Brown, "Random number generation with arbitrary strides").
 * Its output sequence is the reference C/C++ pcg32's, bit for bit (tests/test_pcg32_cpp.cpp). */
#ifndef RBM_PCG32_H
#define RBM_PCG32_H

#include <stddef.h>
#include <stdint.h>

#define PCG32_MULTIPLIER 6364136223846793005ULL
#define PCG32_LANES 16 /* outputs computed side by side by pcg32_fill_uniform */

typedef struct Pcg32 {
    uint64_t state;     /* the next output is computed from this state */
    uint64_t increment; /* odd; selects the stream */
    /* state_{n+l} = state_n * lane_multiplier[l] + lane_increment[l], for l = 0..PCG32_LANES */
    uint64_t lane_multiplier[PCG32_LANES + 1];
    uint64_t lane_increment[PCG32_LANES + 1];
} Pcg32;

/* As pcg32_srandom_r(rng, seed, stream) and pcg-cpp's pcg32(seed, stream). */
void pcg32_seed(Pcg32 *rng, uint64_t seed, uint64_t stream);
uint32_t pcg32_next(Pcg32 *rng);
/* Moves the generator `delta` outputs forward (delta may "wrap" to go backwards). */
void pcg32_advance(Pcg32 *rng, uint64_t delta);

/* The next n outputs as floats in [0, 1): (output >> 8) * 2^-24, computed PCG32_LANES at a
 * time; equal to n calls of pcg32_uniform_reference. Leaves the generator n outputs further. */
void pcg32_fill_uniform(Pcg32 *rng, float *out, size_t n);

static inline float pcg32_to_uniform(uint32_t output) { return (float)(output >> 8) * 0x1p-24f; }
static inline float pcg32_uniform_reference(Pcg32 *rng) { return pcg32_to_uniform(pcg32_next(rng)); }

#endif
