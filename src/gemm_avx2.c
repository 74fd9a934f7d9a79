/*
 * rbm's own products (gemm.h) on CPUs with AVX2 and FMA but no AVX-512: gemm.c's kernels at
 * half the width; and for AVX2 and AVX-512 builds alike, the gradient that starts from bit
 * counts (rbm_product_tn_counted). A panel is 16 columns (two 8-float registers) and a block 6 rows: 12 sums in
 * the 16 registers, two for the row of `right` and one broadcast (OpenBLAS's Haswell kernel
 * has the same shape). A partial last panel loads and stores through lane masks. Every output
 * element is the same chain of fused multiply-adds as in gemm.c's AVX-512 kernels and in the
 * reference, so a model trained here has the bits of one trained on a CPU with AVX-512.
 */
#include "gemm.h"

/* With -DRBM_ONES_WITH_AVX512=1 an AVX-512 build takes the counted gradient from here too, and
 * gemm.c's kernels for the rest (RBM_PRODUCTS_SUMS, gemm.h): the same chains */
#if RBM_PRODUCTS_SUMS
#include <immintrin.h>
#include <stdbool.h>

#include "avx2_helpers.h"

enum { ROWS = 6, PANEL = 16 };

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The lanes of a panel's two halves. `partial` is a constant where the blocks are inlined: the
 * full panels load and store plainly, and only the last one of a row pays for the masks. */
typedef struct Lanes {
    __m256i low, high;
} Lanes;

static Lanes lanes_of(int64_t count)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return (Lanes){_mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lane),
                   _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count - 8), lane)};
}

ALWAYS_INLINE void load_panel(__m256 *low, __m256 *high, const float *at, Lanes lanes,
                              bool partial)
{
    *low = partial ? _mm256_maskload_ps(at, lanes.low) : _mm256_loadu_ps(at);
    *high = partial ? _mm256_maskload_ps(at + 8, lanes.high) : _mm256_loadu_ps(at + 8);
}

ALWAYS_INLINE void store_panel(float *at, __m256 low, __m256 high, Lanes lanes, bool partial)
{
    if (partial) {
        _mm256_maskstore_ps(at, lanes.low, low);
        _mm256_maskstore_ps(at + 8, lanes.high, high);
    } else {
        _mm256_storeu_ps(at, low);
        _mm256_storeu_ps(at + 8, high);
    }
}

#if RBM_PRODUCTS_AVX2
void rbm_transpose(float *out, int64_t out_stride, const float *in, int64_t in_stride,
                   int64_t rows, int64_t columns)
{
    int64_t row = 0;
    for (; row + 8 <= rows; row += 8) {
        int64_t column = 0;
        for (; column + 8 <= columns; column += 8) {
            __m256 tile[8];
            for (int r = 0; r < 8; r++)
                tile[r] = _mm256_loadu_ps(in + (row + r) * in_stride + column);
            rbm_transpose_8x8(tile);
            for (int c = 0; c < 8; c++)
                _mm256_storeu_ps(out + (column + c) * out_stride + row, tile[c]);
        }
        for (; column < columns; column++)
            for (int64_t r = row; r < row + 8; r++)
                out[column * out_stride + r] = in[r * in_stride + column];
    }
    for (; row < rows; row++)
        for (int64_t column = 0; column < columns; column++)
            out[column * out_stride + row] = in[row * in_stride + column];
}
#endif

/* One block: `block_rows` rows (a constant where it is inlined) by one panel; `left` is the
 * block's first row, `right` and `out` the panel's first column. `streaming`: the panel's rows
 * are whole cache lines, written with non-temporal stores. */
ALWAYS_INLINE void nn_block(float *out, int64_t out_stride, __m256 alpha, const float *left,
                            int64_t left_stride, const float *right, int64_t right_stride,
                            int64_t depth, Lanes lanes, bool partial, bool streaming,
                            int block_rows)
{
    __m256 sum_low[ROWS], sum_high[ROWS];
    for (int r = 0; r < block_rows; r++)
        sum_low[r] = sum_high[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < depth; k++) {
        __m256 right_low, right_high;
        load_panel(&right_low, &right_high, right + k * right_stride, lanes, partial);
        for (int r = 0; r < block_rows; r++) {
            const __m256 factor = _mm256_broadcast_ss(left + r * left_stride + k);
            sum_low[r] = _mm256_fmadd_ps(factor, right_low, sum_low[r]);
            sum_high[r] = _mm256_fmadd_ps(factor, right_high, sum_high[r]);
        }
    }
    for (int r = 0; r < block_rows; r++) {
        const __m256 low = _mm256_mul_ps(alpha, sum_low[r]);
        const __m256 high = _mm256_mul_ps(alpha, sum_high[r]);
        if (streaming) {
            _mm256_stream_ps(out + r * out_stride, low);
            _mm256_stream_ps(out + r * out_stride + 8, high);
        } else {
            store_panel(out + r * out_stride, low, high, lanes, partial);
        }
    }
}

/* The last rows of a panel, fewer than a block: one inlined copy per count, so the sums stay
 * in registers */
#define REMAINDER_CASES(CALL) CALL(1) CALL(2) CALL(3) CALL(4) CALL(5)
_Static_assert(ROWS == 6, "the remainder cases cover 1 to ROWS - 1");

ALWAYS_INLINE void nn_panel(float *out, int64_t out_stride, __m256 alpha, const float *left,
                            int64_t left_stride, const float *right, int64_t right_stride,
                            int64_t rows, int64_t depth, Lanes lanes, bool partial,
                            bool streaming)
{
    int64_t row = 0;
    for (; row + ROWS <= rows; row += ROWS)
        nn_block(out + row * out_stride, out_stride, alpha, left + row * left_stride,
                 left_stride, right, right_stride, depth, lanes, partial, streaming, ROWS);
    float *block_out = out + row * out_stride;
    const float *block_left = left + row * left_stride;
    switch (rows - row) {
#define NN_CASE(n)                                                                               \
    case n:                                                                                      \
        nn_block(block_out, out_stride, alpha, block_left, left_stride, right, right_stride,    \
                 depth, lanes, partial, streaming, n);                                           \
        break;
        REMAINDER_CASES(NN_CASE)
#undef NN_CASE
    default:
        break;
    }
}

#if RBM_PRODUCTS_AVX2 /* the dense products: gemm.c has them with AVX-512 */
/* A last panel of 8 columns or fewer, in one register per row: a 16-column panel would spend
 * half its multiply-adds on nothing, and hidden 300's strips of 150 units end in 6 columns.
 * HALF_ROWS rows a block, so that enough independent sums are in flight (the 6 rows of a full
 * block would leave the multiply-adds waiting on each other): the strip's forward product
 * took 269 instead of 279 us (BENCHMARKS.md, "Session 11"). The same chain per element. */
enum { HALF_ROWS = 12 };

ALWAYS_INLINE void nn_half_block(float *out, int64_t out_stride, __m256 alpha, const float *left,
                                 int64_t left_stride, const float *right, int64_t right_stride,
                                 int64_t depth, __m256i lanes, int block_rows)
{
    __m256 sum[HALF_ROWS];
    for (int r = 0; r < block_rows; r++)
        sum[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < depth; k++) {
        const __m256 right_row = _mm256_maskload_ps(right + k * right_stride, lanes);
        for (int r = 0; r < block_rows; r++)
            sum[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(left + r * left_stride + k), right_row,
                                     sum[r]);
    }
    for (int r = 0; r < block_rows; r++)
        _mm256_maskstore_ps(out + r * out_stride, lanes, _mm256_mul_ps(alpha, sum[r]));
}

static void nn_half_panel(float *out, int64_t out_stride, __m256 alpha, const float *left,
                          int64_t left_stride, const float *right, int64_t right_stride,
                          int64_t rows, int64_t depth, __m256i lanes)
{
    int64_t row = 0;
    for (; row + HALF_ROWS <= rows; row += HALF_ROWS)
        nn_half_block(out + row * out_stride, out_stride, alpha, left + row * left_stride,
                      left_stride, right, right_stride, depth, lanes, HALF_ROWS);
    for (; row + 4 <= rows; row += 4)
        nn_half_block(out + row * out_stride, out_stride, alpha, left + row * left_stride,
                      left_stride, right, right_stride, depth, lanes, 4);
    for (; row < rows; row++)
        nn_half_block(out + row * out_stride, out_stride, alpha, left + row * left_stride,
                      left_stride, right, right_stride, depth, lanes, 1);
}

static void product_nn(float *out, int64_t out_stride, float alpha, const float *left,
                       int64_t left_stride, const float *right, int64_t right_stride,
                       int64_t rows, int64_t columns, int64_t depth, bool streaming)
{
    const __m256 alpha_vector = _mm256_set1_ps(alpha);
    const Lanes all = lanes_of(PANEL);
    /* a full panel's rows are whole lines where the first one is and the stride keeps them so */
    streaming = streaming && (uintptr_t)out % 64 == 0 && out_stride % PANEL == 0;
    int64_t column = 0;
    /* two calls with constant flags, so that each inlined copy has its own kind of store */
    for (; column + PANEL <= columns; column += PANEL) {
        if (streaming)
            nn_panel(out + column, out_stride, alpha_vector, left, left_stride, right + column,
                     right_stride, rows, depth, all, false, true);
        else
            nn_panel(out + column, out_stride, alpha_vector, left, left_stride, right + column,
                     right_stride, rows, depth, all, false, false);
    }
    /* the lines a partial panel shares are written plainly */
    if (column < columns && columns - column <= PANEL / 2)
        nn_half_panel(out + column, out_stride, alpha_vector, left, left_stride, right + column,
                      right_stride, rows, depth, lanes_of(columns - column).low);
    else if (column < columns)
        nn_panel(out + column, out_stride, alpha_vector, left, left_stride, right + column,
                 right_stride, rows, depth, lanes_of(columns - column), true, false);
}

void rbm_product_nn(float *out, int64_t out_stride, float alpha, const float *left,
                    int64_t left_stride, const float *right, int64_t right_stride, int64_t rows,
                    int64_t columns, int64_t depth)
{
    product_nn(out, out_stride, alpha, left, left_stride, right, right_stride, rows, columns,
               depth, false);
}

void rbm_product_nn_streaming(float *out, int64_t out_stride, float alpha, const float *left,
                              int64_t left_stride, const float *right, int64_t right_stride,
                              int64_t rows, int64_t columns, int64_t depth)
{
    product_nn(out, out_stride, alpha, left, left_stride, right, right_stride, rows, columns,
               depth, true);
}
#endif

/* One row of a panel of tn's output: beta * out + alpha * sum, two products and one sum */
ALWAYS_INLINE void tn_store(float *row, __m256 beta, __m256 alpha, __m256 sum_low,
                            __m256 sum_high, Lanes lanes, bool partial)
{
    __m256 old_low, old_high;
    load_panel(&old_low, &old_high, row, lanes, partial);
    store_panel(row, _mm256_add_ps(_mm256_mul_ps(beta, old_low), _mm256_mul_ps(alpha, sum_low)),
                _mm256_add_ps(_mm256_mul_ps(beta, old_high), _mm256_mul_ps(alpha, sum_high)),
                lanes, partial);
}

/* The sums of a tn block, over the depth, from `sum` on: `left` is the block's first column */
ALWAYS_INLINE void tn_sums(__m256 *sum_low, __m256 *sum_high, const float *left,
                           int64_t left_stride, const float *right, int64_t right_stride,
                           int64_t depth, Lanes lanes, bool partial, int block_rows)
{
    for (int64_t k = 0; k < depth; k++) {
        __m256 right_low, right_high;
        load_panel(&right_low, &right_high, right + k * right_stride, lanes, partial);
        const float *left_row = left + k * left_stride;
        for (int r = 0; r < block_rows; r++) {
            const __m256 factor = _mm256_broadcast_ss(left_row + r);
            sum_low[r] = _mm256_fmadd_ps(factor, right_low, sum_low[r]);
            sum_high[r] = _mm256_fmadd_ps(factor, right_high, sum_high[r]);
        }
    }
}

ALWAYS_INLINE void tn_block(float *out, int64_t out_stride, __m256 beta, __m256 alpha,
                            const float *left, int64_t left_stride, const float *right,
                            int64_t right_stride, int64_t depth, Lanes lanes, bool partial,
                            int block_rows)
{
    __m256 sum_low[ROWS], sum_high[ROWS];
    for (int r = 0; r < block_rows; r++)
        sum_low[r] = sum_high[r] = _mm256_setzero_ps();
    tn_sums(sum_low, sum_high, left, left_stride, right, right_stride, depth, lanes, partial,
            block_rows);
    for (int r = 0; r < block_rows; r++)
        tn_store(out + r * out_stride, beta, alpha, sum_low[r], sum_high[r], lanes, partial);
}

/* tn_block over a slice of the depth of a packed panel (PANEL floats a row, zeros past the
 * columns): the sums start from, and go back to, `carried` (block_rows x PANEL floats), so
 * that the next slice continues the same chains. A float stored and loaded again is the same
 * float: the bits do not change. */
ALWAYS_INLINE void tn_block_carried(float *carried, const float *left, int64_t left_stride,
                                    const float *packed, int64_t depth, int block_rows)
{
    __m256 sum_low[ROWS], sum_high[ROWS];
    for (int r = 0; r < block_rows; r++) {
        sum_low[r] = _mm256_load_ps(carried + r * PANEL);
        sum_high[r] = _mm256_load_ps(carried + r * PANEL + 8);
    }
    tn_sums(sum_low, sum_high, left, left_stride, packed, PANEL, depth, lanes_of(PANEL), false,
            block_rows);
    for (int r = 0; r < block_rows; r++) {
        _mm256_store_ps(carried + r * PANEL, sum_low[r]);
        _mm256_store_ps(carried + r * PANEL + 8, sum_high[r]);
    }
}

ALWAYS_INLINE void tn_panel(float *out, int64_t out_stride, __m256 beta, __m256 alpha,
                            const float *left, int64_t left_stride, const float *right,
                            int64_t right_stride, int64_t rows, int64_t depth, Lanes lanes,
                            bool partial)
{
    int64_t row = 0;
    for (; row + ROWS <= rows; row += ROWS)
        tn_block(out + row * out_stride, out_stride, beta, alpha, left + row, left_stride, right,
                 right_stride, depth, lanes, partial, ROWS);
    float *block_out = out + row * out_stride;
    switch (rows - row) {
#define TN_CASE(n)                                                                               \
    case n:                                                                                      \
        tn_block(block_out, out_stride, beta, alpha, left + row, left_stride, right,             \
                 right_stride, depth, lanes, partial, n);                                        \
        break;
        REMAINDER_CASES(TN_CASE)
#undef TN_CASE
    default:
        break;
    }
}

/* count(c) = sum over the words of popcount(row_bits[w] & column_bits[w][c]) for a panel's 16
 * columns, as the floats of two registers; past `width` columns (partial) zero. Each byte's
 * bits counted (rbm_byte_popcounts), the bytes' counts summed over the words (at most 31: 8 a
 * word fits a byte) and then over each 64-bit lane (vpsadbw). */
ALWAYS_INLINE void panel_counts(__m256 *low, __m256 *high, const uint64_t *row_bits,
                                int64_t row_bits_stride, const uint64_t *column_bits,
                                int64_t column_bits_stride, int64_t words, int64_t width,
                                bool partial)
{
    if (partial) {
        _Alignas(32) float counts[PANEL] = {0};
        for (int64_t c = 0; c < width; c++)
            counts[c] = (float)rbm_shared_ones(row_bits, row_bits_stride, column_bits + c,
                                               column_bits_stride, words);
        *low = _mm256_load_ps(counts);
        *high = _mm256_load_ps(counts + 8);
        return;
    }
    __m256i bytes[4];
    for (int q = 0; q < 4; q++)
        bytes[q] = _mm256_setzero_si256();
    for (int64_t w = 0; w < words; w++) {
        const __m256i word = _mm256_set1_epi64x((long long)row_bits[w * row_bits_stride]);
        for (int q = 0; q < 4; q++)
            bytes[q] = _mm256_add_epi8(
                bytes[q], rbm_byte_popcounts(_mm256_and_si256(
                              word, _mm256_loadu_si256((const __m256i *)(column_bits +
                                                                         w * column_bits_stride +
                                                                         4 * q)))));
    }
    for (int q = 0; q < 4; q++)
        bytes[q] = _mm256_sad_epu8(bytes[q], _mm256_setzero_si256());
    *low = rbm_counts_to_floats(bytes[0], bytes[1]);
    *high = rbm_counts_to_floats(bytes[2], bytes[3]);
}

/* tn_block with sums that start from the block's counts */
ALWAYS_INLINE void tn_counted_block(float *out, int64_t out_stride, __m256 beta, __m256 alpha,
                                    const uint64_t *left_bits, int64_t left_bits_stride,
                                    const uint64_t *right_bits, int64_t right_bits_stride,
                                    int64_t words, const float *left, int64_t left_stride,
                                    const float *right, int64_t right_stride, int64_t depth,
                                    int64_t width, Lanes lanes, bool partial, int block_rows)
{
    __m256 sum_low[ROWS], sum_high[ROWS];
    for (int r = 0; r < block_rows; r++)
        panel_counts(&sum_low[r], &sum_high[r], left_bits + r, left_bits_stride, right_bits,
                     right_bits_stride, words, width, partial);
    tn_sums(sum_low, sum_high, left, left_stride, right, right_stride, depth, lanes, partial,
            block_rows);
    for (int r = 0; r < block_rows; r++)
        tn_store(out + r * out_stride, beta, alpha, sum_low[r], sum_high[r], lanes, partial);
}

ALWAYS_INLINE void tn_counted_panel(float *out, int64_t out_stride, __m256 beta, __m256 alpha,
                                    const uint64_t *left_bits, int64_t left_bits_stride,
                                    const uint64_t *right_bits, int64_t right_bits_stride,
                                    int64_t words, const float *left, int64_t left_stride,
                                    const float *right, int64_t right_stride, int64_t rows,
                                    int64_t depth, int64_t width, Lanes lanes, bool partial)
{
    int64_t row = 0;
    for (; row + ROWS <= rows; row += ROWS)
        tn_counted_block(out + row * out_stride, out_stride, beta, alpha, left_bits + row,
                         left_bits_stride, right_bits, right_bits_stride, words, left + row,
                         left_stride, right, right_stride, depth, width, lanes, partial, ROWS);
    float *block_out = out + row * out_stride;
    switch (rows - row) {
#define TN_COUNTED_CASE(n)                                                                       \
    case n:                                                                                      \
        tn_counted_block(block_out, out_stride, beta, alpha, left_bits + row, left_bits_stride,  \
                         right_bits, right_bits_stride, words, left + row, left_stride, right,   \
                         right_stride, depth, width, lanes, partial, n);                         \
        break;
        REMAINDER_CASES(TN_COUNTED_CASE)
#undef TN_COUNTED_CASE
    default:
        break;
    }
}

void rbm_product_tn_counted(float *out, int64_t out_stride, float beta, float alpha,
                            const uint64_t *left_bits, int64_t left_bits_stride,
                            const uint64_t *right_bits, int64_t right_bits_stride,
                            int64_t words, const float *left, int64_t left_stride,
                            const float *right, int64_t right_stride, int64_t rows,
                            int64_t columns, int64_t depth)
{
    const __m256 beta_vector = _mm256_set1_ps(beta), alpha_vector = _mm256_set1_ps(alpha);
    const Lanes all = lanes_of(PANEL);
    int64_t column = 0;
    for (; column + PANEL <= columns; column += PANEL)
        tn_counted_panel(out + column, out_stride, beta_vector, alpha_vector, left_bits,
                         left_bits_stride, right_bits + column, right_bits_stride, words, left,
                         left_stride, right + column, right_stride, rows, depth, PANEL, all,
                         false);
    if (column < columns)
        tn_counted_panel(out + column, out_stride, beta_vector, alpha_vector, left_bits,
                         left_bits_stride, right_bits + column, right_bits_stride, words, left,
                         left_stride, right + column, right_stride, rows, depth,
                         columns - column, lanes_of(columns - column), true);
}

#if RBM_PRODUCTS_AVX2
/* A deep gradient (batches of 1000), as gemm.c does it (see there): the depth in slices, a
 * group of rows of `left` read by a group of panels while it is in cache, each panel's slice
 * of `right` first copied to contiguous floats read from L1, the sums carried between
 * slices. Stack: 32 KiB. */
enum { DEPTH_SLICE = 128, GROUP_ROWS = 8 * ROWS, GROUP_PANELS = 4, DEEP = 512 };

/* One slice of the depth for one packed panel and a group of rows, sums in `carried` */
static __attribute__((noinline)) void tn_slice(float *carried, const float *left,
                                               int64_t left_stride, const float *packed,
                                               int64_t rows, int64_t depth)
{
    int64_t row = 0;
    for (; row + ROWS <= rows; row += ROWS)
        tn_block_carried(carried + row * PANEL, left + row, left_stride, packed, depth, ROWS);
    switch (rows - row) {
#define TN_CARRIED_CASE(n)                                                                       \
    case n:                                                                                      \
        tn_block_carried(carried + row * PANEL, left + row, left_stride, packed, depth, n);      \
        break;
        REMAINDER_CASES(TN_CARRIED_CASE)
#undef TN_CARRIED_CASE
    default:
        break;
    }
}

static __attribute__((noinline)) void
product_tn_deep(float *out, int64_t out_stride, __m256 beta, __m256 alpha, const float *left,
                int64_t left_stride, const float *right, int64_t right_stride, int64_t rows,
                int64_t columns, int64_t depth)
{
    _Alignas(32) float carried[GROUP_PANELS][GROUP_ROWS * PANEL]; /* 12 KiB */
    _Alignas(32) float packed[DEPTH_SLICE * PANEL];                /* 8 KiB */
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
                    const Lanes lanes =
                        lanes_of(columns - column < PANEL ? columns - column : PANEL);
                    const float *slice_right = right + slice * right_stride + column;
                    for (int64_t k = 0; k < slice_depth; k++) { /* zeros past the columns */
                        __m256 low, high;
                        load_panel(&low, &high, slice_right + k * right_stride, lanes, true);
                        _mm256_store_ps(packed + k * PANEL, low);
                        _mm256_store_ps(packed + k * PANEL + 8, high);
                    }
                    tn_slice(carried[p], slice_left, left_stride, packed, group_rows,
                             slice_depth);
                }
            }
            for (int64_t p = 0; p < panels; p++) {
                const int64_t column = first_column + p * PANEL;
                const Lanes lanes = lanes_of(columns - column < PANEL ? columns - column : PANEL);
                for (int64_t r = 0; r < group_rows; r++)
                    tn_store(out + (first_row + r) * out_stride + column, beta, alpha,
                             _mm256_load_ps(carried[p] + r * PANEL),
                             _mm256_load_ps(carried[p] + r * PANEL + 8), lanes,
                             columns - column < PANEL);
            }
        }
    }
}

void rbm_product_tn(float *out, int64_t out_stride, float beta, float alpha, const float *left,
                    int64_t left_stride, const float *right, int64_t right_stride, int64_t rows,
                    int64_t columns, int64_t depth)
{
    const __m256 beta_vector = _mm256_set1_ps(beta), alpha_vector = _mm256_set1_ps(alpha);
    if (depth >= DEEP) {
        product_tn_deep(out, out_stride, beta_vector, alpha_vector, left, left_stride, right,
                        right_stride, rows, columns, depth);
        return;
    }
    const Lanes all = lanes_of(PANEL);
    int64_t column = 0;
    for (; column + PANEL <= columns; column += PANEL)
        tn_panel(out + column, out_stride, beta_vector, alpha_vector, left, left_stride,
                 right + column, right_stride, rows, depth, all, false);
    if (column < columns)
        tn_panel(out + column, out_stride, beta_vector, alpha_vector, left, left_stride,
                 right + column, right_stride, rows, depth, lanes_of(columns - column), true);
}
#endif

#endif
