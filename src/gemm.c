#include "gemm.h"

#include <math.h>

#if RBM_PRODUCTS_AVX512
#include <immintrin.h>
#elif !RBM_PRODUCTS_OWN
#include <cblas.h>
#endif

void rbm_product_nn_reference(float *out, int64_t out_stride, float alpha, const float *left,
                              int64_t left_stride, const float *right, int64_t right_stride,
                              int64_t rows, int64_t columns, int64_t depth)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < columns; j++) {
            float sum = 0.0f;
            for (int64_t k = 0; k < depth; k++)
                sum = fmaf(left[i * left_stride + k], right[k * right_stride + j], sum);
            out[i * out_stride + j] = alpha * sum;
        }
}

void rbm_product_tn_reference(float *out, int64_t out_stride, float beta, float alpha,
                              const float *left, int64_t left_stride, const float *right,
                              int64_t right_stride, int64_t rows, int64_t columns, int64_t depth)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < columns; j++) {
            float sum = 0.0f;
            for (int64_t k = 0; k < depth; k++)
                sum = fmaf(left[k * left_stride + i], right[k * right_stride + j], sum);
            out[i * out_stride + j] = beta * out[i * out_stride + j] + alpha * sum;
        }
}

void rbm_product_tn_counted_reference(float *out, int64_t out_stride, float beta, float alpha,
                                      const uint64_t *left_bits, int64_t left_bits_stride,
                                      const uint64_t *right_bits, int64_t right_bits_stride,
                                      int64_t words, const float *left, int64_t left_stride,
                                      const float *right, int64_t right_stride, int64_t rows,
                                      int64_t columns, int64_t depth)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < columns; j++) {
            float sum = (float)rbm_shared_ones(left_bits + i, left_bits_stride, right_bits + j,
                                               right_bits_stride, words);
            for (int64_t k = 0; k < depth; k++)
                sum = fmaf(left[k * left_stride + i], right[k * right_stride + j], sum);
            out[i * out_stride + j] = beta * out[i * out_stride + j] + alpha * sum;
        }
}

#if !RBM_PRODUCT_TN_COUNTED
/* Only gemm_avx2.c has the kernel; the trainer calls it only there. Elsewhere (tests,
 * bench_ones) the plain form stands in. */
void rbm_product_tn_counted(float *out, int64_t out_stride, float beta, float alpha,
                            const uint64_t *left_bits, int64_t left_bits_stride,
                            const uint64_t *right_bits, int64_t right_bits_stride,
                            int64_t words, const float *left, int64_t left_stride,
                            const float *right, int64_t right_stride, int64_t rows,
                            int64_t columns, int64_t depth)
{
    rbm_product_tn_counted_reference(out, out_stride, beta, alpha, left_bits, left_bits_stride,
                                     right_bits, right_bits_stride, words, left, left_stride,
                                     right, right_stride, rows, columns, depth);
}
#endif

#if RBM_PRODUCTS_AVX512

/* 16 x 16 floats: rows[r] lane c becomes rows[c] lane r. Unpacks transpose the 4 x 4 blocks
 * within each 128-bit lane; two rounds of 128-bit shuffles then move the blocks. */
static inline void transpose_16x16(__m512 rows[16])
{
    __m512 pairs[16], blocks[16];
    for (int i = 0; i < 16; i += 2) {
        pairs[i] = _mm512_unpacklo_ps(rows[i], rows[i + 1]);
        pairs[i + 1] = _mm512_unpackhi_ps(rows[i], rows[i + 1]);
    }
    /* blocks[4g + c], lane L: element 4L + c of rows 4g..4g+3 */
    for (int g = 0; g < 16; g += 4) {
        const __m512d low = _mm512_castps_pd(pairs[g]), high = _mm512_castps_pd(pairs[g + 1]);
        const __m512d low2 = _mm512_castps_pd(pairs[g + 2]), high2 = _mm512_castps_pd(pairs[g + 3]);
        blocks[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(low, low2));
        blocks[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(low, low2));
        blocks[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(high, high2));
        blocks[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(high, high2));
    }
    /* rows[4L + c], lane g: blocks[4g + c], lane L */
    for (int c = 0; c < 4; c++) {
        const __m512 even = _mm512_shuffle_f32x4(blocks[c], blocks[4 + c], 0x88);
        const __m512 odd = _mm512_shuffle_f32x4(blocks[c], blocks[4 + c], 0xdd);
        const __m512 even2 = _mm512_shuffle_f32x4(blocks[8 + c], blocks[12 + c], 0x88);
        const __m512 odd2 = _mm512_shuffle_f32x4(blocks[8 + c], blocks[12 + c], 0xdd);
        rows[c] = _mm512_shuffle_f32x4(even, even2, 0x88);
        rows[4 + c] = _mm512_shuffle_f32x4(odd, odd2, 0x88);
        rows[8 + c] = _mm512_shuffle_f32x4(even, even2, 0xdd);
        rows[12 + c] = _mm512_shuffle_f32x4(odd, odd2, 0xdd);
    }
}

void rbm_transpose(float *out, int64_t out_stride, const float *in, int64_t in_stride,
                   int64_t rows, int64_t columns)
{
    for (int64_t row = 0; row < rows; row += 16)
        for (int64_t column = 0; column < columns; column += 16) {
            const int64_t height = rows - row < 16 ? rows - row : 16;
            const int64_t width = columns - column < 16 ? columns - column : 16;
            const __mmask16 load = (__mmask16)((1u << width) - 1);
            const __mmask16 store = (__mmask16)((1u << height) - 1);
            __m512 tile[16];
            for (int64_t r = 0; r < 16; r++) {
                if (row + 16 + r < rows) /* the next block of rows, from memory if it must */
                    _mm_prefetch((const char *)(in + (row + 16 + r) * in_stride + column),
                                 _MM_HINT_T0);
                const float *line = in + (row + r) * in_stride + column;
                tile[r] = r < height ? _mm512_maskz_loadu_ps(load, line) : _mm512_setzero_ps();
            }
            transpose_16x16(tile);
            for (int64_t c = 0; c < width; c++)
                _mm512_mask_storeu_ps(out + (column + c) * out_stride + row, store, tile[c]);
        }
}

/* Rows per register block: ROWS x 32 columns of sums in 2 * ROWS of the 32 vector registers
 * (20 or 24: well over the 8 independent sums that two FMA pipes of latency 4 need), two more
 * for the row of `right`, and the broadcasts. These are the first sizes tried, not tuned. */
enum { NN_ROWS = 10, TN_ROWS = 12, PANEL = 32 };

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* `count` (<= 32) columns as the two 16-lane masks of a panel */
ALWAYS_INLINE void panel_masks(int64_t count, __mmask16 *low, __mmask16 *high)
{
    *low = count >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << count) - 1);
    *high = count >= 32 ? (__mmask16)0xffff
                        : count > 16 ? (__mmask16)((1u << (count - 16)) - 1) : (__mmask16)0;
}

/* One block: `block_rows` rows (a constant where it is inlined) by one panel. `left` is the
 * block's first row (nn) or first column (tn); `right` and `out` the panel's first column.
 * The sums must stay in registers: keep the loops over r free of branches (a branch per row
 * in the store loop made GCC keep them in memory, and the forward product ran at 63 GFLOP/s
 * instead of 174). */
ALWAYS_INLINE void nn_block(float *out, int64_t out_stride, __m512 alpha, const float *left,
                            int64_t left_stride, const float *right, int64_t right_stride,
                            int64_t depth, __mmask16 low, __mmask16 high, int block_rows)
{
    __m512 sum_low[NN_ROWS], sum_high[NN_ROWS];
    for (int r = 0; r < block_rows; r++)
        sum_low[r] = sum_high[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < depth; k++) {
        const __m512 right_low = _mm512_maskz_loadu_ps(low, right + k * right_stride);
        const __m512 right_high = _mm512_maskz_loadu_ps(high, right + k * right_stride + 16);
        for (int r = 0; r < block_rows; r++) {
            const __m512 factor = _mm512_set1_ps(left[r * left_stride + k]);
            sum_low[r] = _mm512_fmadd_ps(factor, right_low, sum_low[r]);
            sum_high[r] = _mm512_fmadd_ps(factor, right_high, sum_high[r]);
        }
    }
    for (int r = 0; r < block_rows; r++) {
        _mm512_mask_storeu_ps(out + r * out_stride, low, _mm512_mul_ps(alpha, sum_low[r]));
        _mm512_mask_storeu_ps(out + r * out_stride + 16, high, _mm512_mul_ps(alpha, sum_high[r]));
    }
}

/* One row of a panel of tn's output: beta * out + alpha * sum, two products and one sum */
ALWAYS_INLINE void tn_store(float *row, __m512 beta, __m512 alpha, __m512 sum_low,
                            __m512 sum_high, __mmask16 low, __mmask16 high)
{
    const __m512 old_low = _mm512_maskz_loadu_ps(low, row);
    const __m512 old_high = _mm512_maskz_loadu_ps(high, row + 16);
    _mm512_mask_storeu_ps(row, low, _mm512_add_ps(_mm512_mul_ps(beta, old_low),
                                                  _mm512_mul_ps(alpha, sum_low)));
    _mm512_mask_storeu_ps(row + 16, high, _mm512_add_ps(_mm512_mul_ps(beta, old_high),
                                                        _mm512_mul_ps(alpha, sum_high)));
}

ALWAYS_INLINE void tn_block(float *out, int64_t out_stride, __m512 beta, __m512 alpha,
                            const float *left, int64_t left_stride, const float *right,
                            int64_t right_stride, int64_t depth, __mmask16 low, __mmask16 high,
                            int block_rows)
{
    __m512 sum_low[TN_ROWS], sum_high[TN_ROWS];
    for (int r = 0; r < block_rows; r++)
        sum_low[r] = sum_high[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < depth; k++) {
        const __m512 right_low = _mm512_maskz_loadu_ps(low, right + k * right_stride);
        const __m512 right_high = _mm512_maskz_loadu_ps(high, right + k * right_stride + 16);
        const float *left_row = left + k * left_stride;
        for (int r = 0; r < block_rows; r++) {
            const __m512 factor = _mm512_set1_ps(left_row[r]);
            sum_low[r] = _mm512_fmadd_ps(factor, right_low, sum_low[r]);
            sum_high[r] = _mm512_fmadd_ps(factor, right_high, sum_high[r]);
        }
    }
    for (int r = 0; r < block_rows; r++)
        tn_store(out + r * out_stride, beta, alpha, sum_low[r], sum_high[r], low, high);
}

/* tn_block over a slice of the depth, for deep products: the sums start from, and go back to,
 * `carried` (block_rows x PANEL floats, 64-byte aligned), so that the next slice continues the
 * same chains. A float stored and loaded again is the same float: the bits do not change. */
ALWAYS_INLINE void tn_block_carried(float *carried, const float *left, int64_t left_stride,
                                    const float *right, int64_t right_stride, int64_t depth,
                                    __mmask16 low, __mmask16 high, int block_rows)
{
    __m512 sum_low[TN_ROWS], sum_high[TN_ROWS];
    for (int r = 0; r < block_rows; r++) {
        sum_low[r] = _mm512_load_ps(carried + r * PANEL);
        sum_high[r] = _mm512_load_ps(carried + r * PANEL + 16);
    }
    for (int64_t k = 0; k < depth; k++) {
        const __m512 right_low = _mm512_maskz_loadu_ps(low, right + k * right_stride);
        const __m512 right_high = _mm512_maskz_loadu_ps(high, right + k * right_stride + 16);
        const float *left_row = left + k * left_stride;
        for (int r = 0; r < block_rows; r++) {
            const __m512 factor = _mm512_set1_ps(left_row[r]);
            sum_low[r] = _mm512_fmadd_ps(factor, right_low, sum_low[r]);
            sum_high[r] = _mm512_fmadd_ps(factor, right_high, sum_high[r]);
        }
    }
    for (int r = 0; r < block_rows; r++) {
        _mm512_store_ps(carried + r * PANEL, sum_low[r]);
        _mm512_store_ps(carried + r * PANEL + 16, sum_high[r]);
    }
}

/* The last rows of a panel, fewer than a block: one inlined copy per count, so the sums stay
 * in registers */
#define NN_REMAINDER_CASES(CALL)                                                                 \
    CALL(1) CALL(2) CALL(3) CALL(4) CALL(5) CALL(6) CALL(7) CALL(8) CALL(9)
#define TN_REMAINDER_CASES(CALL) NN_REMAINDER_CASES(CALL) CALL(10) CALL(11)
_Static_assert(NN_ROWS == 10 && TN_ROWS == 12, "the remainder cases cover 1 to ROWS - 1");

void rbm_product_nn(float *out, int64_t out_stride, float alpha, const float *left,
                    int64_t left_stride, const float *right, int64_t right_stride, int64_t rows,
                    int64_t columns, int64_t depth)
{
    const __m512 alpha_vector = _mm512_set1_ps(alpha);
    for (int64_t column = 0; column < columns; column += PANEL) {
        __mmask16 low, high;
        panel_masks(columns - column < PANEL ? columns - column : PANEL, &low, &high);
        int64_t row = 0;
        for (; row + NN_ROWS <= rows; row += NN_ROWS)
            nn_block(out + row * out_stride + column, out_stride, alpha_vector,
                     left + row * left_stride, left_stride, right + column, right_stride, depth,
                     low, high, NN_ROWS);
        float *block_out = out + row * out_stride + column;
        const float *block_left = left + row * left_stride;
        switch (rows - row) {
#define NN_CASE(n)                                                                               \
    case n:                                                                                      \
        nn_block(block_out, out_stride, alpha_vector, block_left, left_stride, right + column,   \
                 right_stride, depth, low, high, n);                                             \
        break;
            NN_REMAINDER_CASES(NN_CASE)
#undef NN_CASE
        default:
            break;
        }
    }
}

/* A deep gradient (2B = 2000 rows of samples at batch 1000, say), block by block as above,
 * reads each block's 12 columns of `left` along the whole depth, once per panel: a line per
 * row, rows 1.2 KB apart, from beyond L2 once `left` outgrows it; and each panel of `right`,
 * rows 3 KB apart. On the lent 16-core Intel machine the product ran at half OpenBLAS's speed
 * (BENCHMARKS.md, "Session 8"). From DEEP on, the depth goes in slices of DEPTH_SLICE: a slice
 * of a group of GROUP_ROWS rows of `left` is read by a group of GROUP_PANELS panels while it is
 * in cache, and each panel's slice of `right` is first copied to 16 KiB of contiguous floats
 * (`packed`) that the group's blocks then read from L1. The sums wait in `carried` between
 * slices: a float stored and loaded again is the same float, so every element is still one
 * chain in ascending order, and the bits are those of the blocks above. Stack: 64 KiB. */
enum { DEPTH_SLICE = 128, GROUP_ROWS = 8 * TN_ROWS, GROUP_PANELS = 4, DEEP = 512 };

/* One slice of the depth for one panel and a group of rows, sums in `carried`. Not inlined:
 * inside product_tn_deep's loops GCC ran out of registers and kept the block's pointers on
 * the stack (13 stack accesses per step of the depth). */
static __attribute__((noinline)) void tn_slice(float *carried, const float *left,
                                               int64_t left_stride, const float *right,
                                               int64_t right_stride, int64_t rows,
                                               int64_t depth, __mmask16 low, __mmask16 high)
{
    int64_t row = 0;
    for (; row + TN_ROWS <= rows; row += TN_ROWS)
        tn_block_carried(carried + row * PANEL, left + row, left_stride, right, right_stride,
                         depth, low, high, TN_ROWS);
    switch (rows - row) {
#define TN_CARRIED_CASE(n)                                                                       \
    case n:                                                                                      \
        tn_block_carried(carried + row * PANEL, left + row, left_stride, right, right_stride,   \
                         depth, low, high, n);                                                   \
        break;
        TN_REMAINDER_CASES(TN_CARRIED_CASE)
#undef TN_CARRIED_CASE
    default:
        break;
    }
}

/* Not inlined, so that rbm_product_tn's shallow products do not reserve its 64 KiB of stack */
static __attribute__((noinline)) void
product_tn_deep(float *out, int64_t out_stride, __m512 beta, __m512 alpha, const float *left,
                int64_t left_stride, const float *right, int64_t right_stride, int64_t rows,
                int64_t columns, int64_t depth)
{
    _Alignas(64) float carried[GROUP_PANELS][GROUP_ROWS * PANEL]; /* 48 KiB */
    _Alignas(64) float packed[DEPTH_SLICE * PANEL];                /* 16 KiB */
    for (int64_t first_row = 0; first_row < rows; first_row += GROUP_ROWS) {
        const int64_t group_rows = rows - first_row < GROUP_ROWS ? rows - first_row : GROUP_ROWS;
        for (int64_t first_column = 0; first_column < columns;
             first_column += GROUP_PANELS * PANEL) {
            const int64_t panels = (columns - first_column + PANEL - 1) / PANEL < GROUP_PANELS
                                       ? (columns - first_column + PANEL - 1) / PANEL
                                       : GROUP_PANELS;
            for (int64_t p = 0; p < panels; p++)
                for (int64_t i = 0; i < group_rows * PANEL; i++)
                    carried[p][i] = 0.0f;
            for (int64_t slice = 0; slice < depth; slice += DEPTH_SLICE) {
                const int64_t slice_depth =
                    depth - slice < DEPTH_SLICE ? depth - slice : DEPTH_SLICE;
                const float *slice_left = left + slice * left_stride + first_row;
                for (int64_t p = 0; p < panels; p++) {
                    const int64_t column = first_column + p * PANEL;
                    __mmask16 low, high;
                    panel_masks(columns - column < PANEL ? columns - column : PANEL, &low, &high);
                    const float *slice_right = right + slice * right_stride + column;
                    for (int64_t k = 0; k < slice_depth; k++) { /* zeros past the columns */
                        const float *line = slice_right + k * right_stride;
                        _mm512_store_ps(packed + k * PANEL, _mm512_maskz_loadu_ps(low, line));
                        _mm512_store_ps(packed + k * PANEL + 16,
                                        _mm512_maskz_loadu_ps(high, line + 16));
                    }
                    tn_slice(carried[p], slice_left, left_stride, packed, PANEL, group_rows,
                             slice_depth, low, high);
                }
            }
            for (int64_t p = 0; p < panels; p++) {
                const int64_t column = first_column + p * PANEL;
                __mmask16 low, high;
                panel_masks(columns - column < PANEL ? columns - column : PANEL, &low, &high);
                for (int64_t r = 0; r < group_rows; r++)
                    tn_store(out + (first_row + r) * out_stride + column, beta, alpha,
                             _mm512_load_ps(carried[p] + r * PANEL),
                             _mm512_load_ps(carried[p] + r * PANEL + 16), low, high);
            }
        }
    }
}

void rbm_product_nn_streaming(float *out, int64_t out_stride, float alpha, const float *left,
                              int64_t left_stride, const float *right, int64_t right_stride,
                              int64_t rows, int64_t columns, int64_t depth)
{
    rbm_product_nn(out, out_stride, alpha, left, left_stride, right, right_stride, rows, columns,
                   depth);
}

void rbm_product_tn(float *out, int64_t out_stride, float beta, float alpha, const float *left,
                    int64_t left_stride, const float *right, int64_t right_stride, int64_t rows,
                    int64_t columns, int64_t depth)
{
    const __m512 beta_vector = _mm512_set1_ps(beta), alpha_vector = _mm512_set1_ps(alpha);
    if (depth >= DEEP) {
        product_tn_deep(out, out_stride, beta_vector, alpha_vector, left, left_stride, right,
                        right_stride, rows, columns, depth);
        return;
    }
    for (int64_t column = 0; column < columns; column += PANEL) {
        __mmask16 low, high;
        panel_masks(columns - column < PANEL ? columns - column : PANEL, &low, &high);
        int64_t row = 0;
        for (; row + TN_ROWS <= rows; row += TN_ROWS)
            tn_block(out + row * out_stride + column, out_stride, beta_vector, alpha_vector,
                     left + row, left_stride, right + column, right_stride, depth, low, high,
                     TN_ROWS);
        float *block_out = out + row * out_stride + column;
        switch (rows - row) {
#define TN_CASE(n)                                                                               \
    case n:                                                                                      \
        tn_block(block_out, out_stride, beta_vector, alpha_vector, left + row, left_stride,     \
                 right + column, right_stride, depth, low, high, n);                             \
        break;
            TN_REMAINDER_CASES(TN_CASE)
#undef TN_CASE
        default:
            break;
        }
    }
}

#elif !RBM_PRODUCTS_OWN /* neither AVX-512 nor AVX2 (gemm_avx2.c): OpenBLAS */

void rbm_transpose(float *out, int64_t out_stride, const float *in, int64_t in_stride,
                   int64_t rows, int64_t columns)
{
    for (int64_t row = 0; row < rows; row++)
        for (int64_t column = 0; column < columns; column++)
            out[column * out_stride + row] = in[row * in_stride + column];
}

void rbm_product_nn(float *out, int64_t out_stride, float alpha, const float *left,
                    int64_t left_stride, const float *right, int64_t right_stride, int64_t rows,
                    int64_t columns, int64_t depth)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)columns, (int)depth,
                alpha, left, (int)left_stride, right, (int)right_stride, 0.0f, out,
                (int)out_stride);
}

void rbm_product_nn_streaming(float *out, int64_t out_stride, float alpha, const float *left,
                              int64_t left_stride, const float *right, int64_t right_stride,
                              int64_t rows, int64_t columns, int64_t depth)
{
    rbm_product_nn(out, out_stride, alpha, left, left_stride, right, right_stride, rows, columns,
                   depth);
}

void rbm_product_tn(float *out, int64_t out_stride, float beta, float alpha, const float *left,
                    int64_t left_stride, const float *right, int64_t right_stride, int64_t rows,
                    int64_t columns, int64_t depth)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)columns, (int)depth,
                alpha, left, (int)left_stride, right, (int)right_stride, beta, out,
                (int)out_stride);
}

#endif
