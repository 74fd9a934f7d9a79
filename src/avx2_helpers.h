/* Small AVX2 helpers the kernels share (gemm_avx2.c, product_ones.c) */
#ifndef RBM_AVX2_HELPERS_H
#define RBM_AVX2_HELPERS_H

#include <immintrin.h>

/* 8 x 8 floats: rows[r] lane c becomes rows[c] lane r */
static inline void rbm_transpose_8x8(__m256 rows[8])
{
    __m256 pairs[8], quads[8];
    for (int i = 0; i < 8; i += 2) {
        pairs[i] = _mm256_unpacklo_ps(rows[i], rows[i + 1]);
        pairs[i + 1] = _mm256_unpackhi_ps(rows[i], rows[i + 1]);
    }
    for (int g = 0; g < 8; g += 4) {
        quads[g] = _mm256_shuffle_ps(pairs[g], pairs[g + 2], _MM_SHUFFLE(1, 0, 1, 0));
        quads[g + 1] = _mm256_shuffle_ps(pairs[g], pairs[g + 2], _MM_SHUFFLE(3, 2, 3, 2));
        quads[g + 2] = _mm256_shuffle_ps(pairs[g + 1], pairs[g + 3], _MM_SHUFFLE(1, 0, 1, 0));
        quads[g + 3] = _mm256_shuffle_ps(pairs[g + 1], pairs[g + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int c = 0; c < 4; c++) {
        rows[c] = _mm256_permute2f128_ps(quads[c], quads[4 + c], 0x20);
        rows[4 + c] = _mm256_permute2f128_ps(quads[c], quads[4 + c], 0x31);
    }
}

/* The set bits of each byte of x. AVX2 has no popcount instruction: each half of a byte is
 * counted by a table lookup (vpshufb). */
static inline __m256i rbm_byte_popcounts(__m256i x)
{
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1,
                                           1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
    return _mm256_add_epi8(
        _mm256_shuffle_epi8(table, _mm256_and_si256(x, low_nibbles)),
        _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), low_nibbles)));
}

/* Two registers of four 64-bit counts (each below 2^16) as eight floats, in lane order */
static inline __m256 rbm_counts_to_floats(__m256i first, __m256i second)
{
    const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    return _mm256_cvtepi32_ps(_mm256_permutevar8x32_epi32(
        _mm256_or_si256(first, _mm256_slli_epi64(second, 32)), order));
}

#endif
