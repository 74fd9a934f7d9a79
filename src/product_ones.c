/* Products with a 0/1 left operand as sums of selected rows (product_ones.h) */
#include "product_ones.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"

#if RBM_PRODUCT_ONES
#include "avx2_helpers.h"
#endif

enum { GROUP = 8, PANEL = RBM_PANEL_COLUMNS, UNROLL = 4 };

int rbm_ones_new(RbmOnes *ones, int64_t rows, int64_t depth)
{
    memset(ones, 0, sizeof *ones);
    if (rows < 1 || depth < 1 || depth > RBM_ONES_MAX_DEPTH)
        return -EINVAL;
    ones->capacity = ones->rows = rows;
    ones->capacity_depth = ones->depth = depth;
    /* a list's stores run up to 16 entries past its ones (8 at a time, padding to 4) */
    ones->list_stride = (depth + 16 + 31) / 32 * 32;
    void *lists = NULL;
    if (rbm_posix_memalign(&lists, 64, (size_t)(rows * ones->list_stride) * sizeof(uint16_t)))
        lists = NULL;
    ones->lists = lists;
    ones->row = rbm_calloc((size_t)rows, sizeof *ones->row);
    ones->length = rbm_calloc((size_t)rows, sizeof *ones->length);
    ones->count = rbm_calloc((size_t)rows, sizeof *ones->count);
    ones->bucket = rbm_calloc((size_t)depth + 2, sizeof *ones->bucket);
    if (!ones->lists || !ones->row || !ones->length || !ones->count || !ones->bucket) {
        rbm_ones_free(ones);
        return -ENOMEM;
    }
    return 0;
}

void rbm_ones_free(RbmOnes *ones)
{
    free(ones->lists);
    free(ones->row);
    free(ones->length);
    free(ones->count);
    free(ones->bucket);
    memset(ones, 0, sizeof *ones);
}

/* FIRST(m, j): the position of bit j of byte m's set bits (8 where it has fewer): the number
 * of positions b whose prefix m & (2^(b+1) - 1) holds at most j set bits. A table the compiler
 * works out, so it needs no initialisation at run time. */
#define BIT(m, b) (((m) >> (b)) & 1)
#define PREFIX(m, b) (BIT((m) & ((2 << (b)) - 1), 0) + BIT((m) & ((2 << (b)) - 1), 1) +         \
                      BIT((m) & ((2 << (b)) - 1), 2) + BIT((m) & ((2 << (b)) - 1), 3) +         \
                      BIT((m) & ((2 << (b)) - 1), 4) + BIT((m) & ((2 << (b)) - 1), 5) +         \
                      BIT((m) & ((2 << (b)) - 1), 6) + BIT((m) & ((2 << (b)) - 1), 7))
#define FIRST(m, j) ((PREFIX(m, 0) <= (j)) + (PREFIX(m, 1) <= (j)) + (PREFIX(m, 2) <= (j)) +   \
                     (PREFIX(m, 3) <= (j)) + (PREFIX(m, 4) <= (j)) + (PREFIX(m, 5) <= (j)) +   \
                     (PREFIX(m, 6) <= (j)) + (PREFIX(m, 7) <= (j)))
#define POSITIONS(m)                                                                             \
    {FIRST(m, 0), FIRST(m, 1), FIRST(m, 2), FIRST(m, 3),                                        \
     FIRST(m, 4), FIRST(m, 5), FIRST(m, 6), FIRST(m, 7)},
#define POSITIONS4(m) POSITIONS(m) POSITIONS((m) + 1) POSITIONS((m) + 2) POSITIONS((m) + 3)
#define POSITIONS16(m) POSITIONS4(m) POSITIONS4((m) + 4) POSITIONS4((m) + 8) POSITIONS4((m) + 12)
#define POSITIONS64(m)                                                                           \
    POSITIONS16(m) POSITIONS16((m) + 16) POSITIONS16((m) + 32) POSITIONS16((m) + 48)
static const uint8_t set_bits[256][8] = {POSITIONS64(0) POSITIONS64(64) POSITIONS64(128)
                                             POSITIONS64(192)};

/* The nonzero bytes among 32, as bits */
#if RBM_PRODUCT_ONES
static inline uint32_t nonzero_mask(const uint8_t *bytes)
{
    const __m256i block = _mm256_loadu_si256((const __m256i *)bytes);
    return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(block, _mm256_setzero_si256()));
}
#else
static inline uint32_t nonzero_mask(const uint8_t *bytes)
{
    uint32_t mask = 0;
    for (int b = 0; b < 32; b++)
        mask |= (uint32_t)(bytes[b] != 0) << b;
    return mask;
}
#endif

/* The nonzero floats among 8, as bits */
#if RBM_PRODUCT_ONES
static inline uint32_t nonzero_floats(const float *values)
{
    return (uint32_t)_mm256_movemask_ps(
        _mm256_cmp_ps(_mm256_loadu_ps(values), _mm256_setzero_ps(), _CMP_NEQ_UQ));
}
#else
static inline uint32_t nonzero_floats(const float *values)
{
    uint32_t mask = 0;
    for (int b = 0; b < 8; b++)
        mask |= (uint32_t)(values[b] != 0.0f) << b;
    return mask;
}
#endif

/* A row of bytes or of floats (the other NULL): its ones among the 32 from k, as bits */
static inline uint32_t ones_of_32(const uint8_t *bytes, const float *floats, int64_t k)
{
    if (bytes)
        return nonzero_mask(bytes + k);
    return nonzero_floats(floats + k) | nonzero_floats(floats + k + 8) << 8 |
           nonzero_floats(floats + k + 16) << 16 | nonzero_floats(floats + k + 24) << 24;
}

/* The same among the 8 from k */
static inline uint32_t ones_of_8(const uint8_t *bytes, const float *floats, int64_t k)
{
    if (!bytes)
        return nonzero_floats(floats + k);
#if RBM_PRODUCT_ONES
    const __m128i eight = _mm_loadl_epi64((const __m128i *)(bytes + k));
    return ~(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(eight, _mm_setzero_si128())) & 0xff;
#else
    uint32_t mask = 0;
    for (int b = 0; b < 8; b++)
        mask |= (uint32_t)(bytes[k + b] != 0) << b;
    return mask;
#endif
}

static inline bool is_one(const uint8_t *bytes, const float *floats, int64_t k)
{
    return bytes ? bytes[k] != 0 : floats[k] != 0.0f;
}

static int32_t count_ones(const uint8_t *bytes, const float *floats, int64_t depth)
{
    int32_t count = 0;
    int64_t k = 0;
    for (; k + 32 <= depth; k += 32)
        count += __builtin_popcount(ones_of_32(bytes, floats, k));
    for (; k + 8 <= depth; k += 8)
        count += __builtin_popcount(ones_of_8(bytes, floats, k));
    for (; k < depth; k++)
        count += is_one(bytes, floats, k);
    return count;
}

/* The 8 entries 4 (base + j) for the set bits j of byte_mask, in order, at `list`; returns
 * the pointer moved on by the ones among them */
static inline uint16_t *list_eight(uint16_t *list, uint32_t byte_mask, int64_t base)
{
#if RBM_PRODUCT_ONES
    const __m128i positions =
        _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)set_bits[byte_mask]));
    _mm_storeu_si128((__m128i *)list,
                     _mm_slli_epi16(_mm_add_epi16(positions, _mm_set1_epi16((short)base)), 2));
#else
    for (int j = 0; j < 8; j++)
        list[j] = (uint16_t)(4 * (base + set_bits[byte_mask][j]));
#endif
    return list + __builtin_popcount(byte_mask);
}

/* A row's ones as 4 k, ascending, from `list` on: 8 entries stored for each 8 positions (from
 * the table), the pointer moved on by the ones among them */
static uint16_t *list_ones(uint16_t *list, const uint8_t *bytes, const float *floats,
                           int64_t depth)
{
    int64_t k = 0;
    for (; k + 32 <= depth; k += 32) {
        const uint32_t mask = ones_of_32(bytes, floats, k);
        if (mask == 0) /* often: Fashion-MNIST's borders (12.4 -> 11.4 us for 100 x 784) */
            continue;
        for (int part = 0; part < 4; part++)
            list = list_eight(list, (mask >> (8 * part)) & 0xff, k + 8 * part);
    }
    for (; k + 8 <= depth; k += 8)
        list = list_eight(list, ones_of_8(bytes, floats, k), k);
    for (; k < depth; k++)
        if (is_one(bytes, floats, k))
            *list++ = (uint16_t)(4 * k);
    return list;
}

/* What the lists are made of: rows of bytes, rows of floats, or the rows of bits[words][rows]
 * (the others NULL) */
typedef struct Source {
    const uint8_t *bytes;
    const float *floats;
    const uint64_t *bits;
    int64_t stride; /* between rows of bytes or floats, between words of bits */
} Source;

static int32_t count_row(const Source *source, int64_t row, int64_t depth)
{
    if (source->bytes || source->floats)
        return count_ones(source->bytes ? source->bytes + row * source->stride : NULL,
                          source->floats ? source->floats + row * source->stride : NULL, depth);
    int32_t count = 0;
    for (int64_t w = 0; w < (depth + 63) / 64; w++)
        count += __builtin_popcountll(source->bits[w * source->stride + row]);
    return count;
}

static uint16_t *list_row(uint16_t *list, const Source *source, int64_t row, int64_t depth)
{
    if (source->bytes || source->floats)
        return list_ones(list, source->bytes ? source->bytes + row * source->stride : NULL,
                         source->floats ? source->floats + row * source->stride : NULL, depth);
    for (int64_t byte = 0; byte < (depth + 7) / 8; byte++) /* none past the depth */
        list = list_eight(list, (uint32_t)(source->bits[byte / 8 * source->stride + row] >>
                                           (byte % 8 * 8)) &
                                    0xff,
                          8 * byte);
    return list;
}

static void make_lists(RbmOnes *ones, const Source *source, int64_t rows, int64_t depth)
{
    ones->depth = depth;
    int64_t total = 0;
    for (int64_t i = 0; i < rows; i++) {
        ones->count[i] = count_row(source, i, depth);
        total += ones->count[i];
    }
    ones->ones = total;
    ones->rows = rows;
    /* longest first, by counting: the first list of count c comes after every longer one */
    int32_t *next = ones->bucket; /* [depth + 2] */
    memset(next, 0, (size_t)(depth + 2) * sizeof *next);
    for (int64_t i = 0; i < rows; i++)
        next[depth - ones->count[i] + 1]++;
    for (int64_t c = 1; c <= depth + 1; c++)
        next[c] += next[c - 1];
    for (int64_t i = 0; i < rows; i++)
        ones->row[next[depth - ones->count[i]]++] = (int32_t)i;
    const uint16_t zero_row = (uint16_t)(4 * depth);
    for (int64_t s = 0; s < rows; s++) {
        const int32_t longest = ones->count[ones->row[s / GROUP * GROUP]];
        const int32_t length = (longest + UNROLL - 1) / UNROLL * UNROLL;
        ones->length[s] = length;
        uint16_t *list = ones->lists + s * ones->list_stride;
        uint16_t *end = list_row(list, source, ones->row[s], depth);
        while (end < list + length)
            *end++ = zero_row;
    }
}

void rbm_ones_lists(RbmOnes *ones, const uint8_t *bytes, int64_t byte_stride, int64_t rows,
                    int64_t depth)
{
    make_lists(ones, &(Source){.bytes = bytes, .stride = byte_stride}, rows, depth);
}

void rbm_ones_lists_of_floats(RbmOnes *ones, const float *values, int64_t stride, int64_t rows,
                              int64_t depth)
{
    make_lists(ones, &(Source){.floats = values, .stride = stride}, rows, depth);
}

void rbm_ones_lists_of_bits(RbmOnes *ones, const uint64_t *bits, int64_t rows, int64_t depth)
{
    make_lists(ones, &(Source){.bits = bits, .stride = rows}, rows, depth);
}

void rbm_product_ones_reference(float *out, int64_t out_stride, float alpha, float sign,
                                const uint8_t *bytes, int64_t byte_stride, const float *right,
                                int64_t right_stride, int64_t rows, int64_t columns,
                                int64_t depth)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < columns; j++) {
            float sum = 0.0f;
            for (int64_t k = 0; k < depth; k++)
                if (bytes[i * byte_stride + k])
                    sum = sign > 0 ? sum + right[k * right_stride + j]
                                   : sum - right[k * right_stride + j];
            out[i * out_stride + j] = alpha * sum;
        }
}

#if RBM_PRODUCT_ONES

void rbm_pack_panels(float *panels, const float *in, int64_t in_stride, int64_t columns,
                     int64_t depth)
{
    for (int64_t first = 0; first < columns; first += PANEL) {
        float *panel = panels + first / PANEL * (depth + 1) * PANEL;
        const int64_t width = columns - first < PANEL ? columns - first : PANEL;
        int64_t k = 0;
        if (width == PANEL)
            for (; k + 8 <= depth; k += 8) {
                __m256 tile[8];
                for (int r = 0; r < 8; r++)
                    tile[r] = _mm256_loadu_ps(in + (first + r) * in_stride + k);
                rbm_transpose_8x8(tile);
                for (int c = 0; c < 8; c++)
                    _mm256_store_ps(panel + (k + c) * PANEL, tile[c]);
            }
        for (; k < depth; k++)
            for (int c = 0; c < PANEL; c++)
                panel[k * PANEL + c] = c < width ? in[(first + c) * in_stride + k] : 0.0f;
        for (int c = 0; c < PANEL; c++)
            panel[depth * PANEL + c] = 0.0f;
    }
}

void rbm_pack_row_panels(float *panels, const float *in, int64_t in_stride, int64_t depth,
                         int64_t columns)
{
    for (int64_t first = 0; first < columns; first += PANEL) {
        float *panel = panels + first / PANEL * (depth + 1) * PANEL;
        const int64_t width = columns - first < PANEL ? columns - first : PANEL;
        const __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)width),
                                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (int64_t k = 0; k < depth; k++) /* zeros past the columns */
            _mm256_store_ps(panel + k * PANEL, width == PANEL
                                                   ? _mm256_loadu_ps(in + k * in_stride + first)
                                                   : _mm256_maskload_ps(in + k * in_stride + first,
                                                                        lanes));
        _mm256_store_ps(panel + depth * PANEL, _mm256_setzero_ps());
    }
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The panel row at `entry` (4 k, in 8-byte units: 32 bytes a row) */
#define PANEL_ROW(panel, entry) _mm256_load_ps((const float *)((panel) + 8 * (uint64_t)(entry)))

/* One group of `group_rows` lists (a constant where it is inlined) over one panel. Four entries
 * of a list come in one 64-bit load: a load per entry made the loads the limit (142 against
 * 110 us for a 100 x 150 product at 28% ones). */
ALWAYS_INLINE void ones_group(float *out, int64_t out_stride, __m256 alpha, const char *panel,
                              const uint16_t *lists, int64_t list_stride, const int32_t *row,
                              int64_t length, __m256i lanes, bool subtract, int group_rows)
{
    __m256 sum[GROUP];
    for (int r = 0; r < group_rows; r++)
        sum[r] = _mm256_setzero_ps();
    for (int64_t step = 0; step < length; step += UNROLL)
        for (int r = 0; r < group_rows; r++) {
            uint64_t entries;
            memcpy(&entries, lists + r * list_stride + step, sizeof entries);
            for (int e = 0; e < UNROLL; e++) {
                const __m256 term = PANEL_ROW(panel, (entries >> (16 * e)) & 0xffff);
                sum[r] = subtract ? _mm256_sub_ps(sum[r], term) : _mm256_add_ps(sum[r], term);
            }
        }
    for (int r = 0; r < group_rows; r++)
        _mm256_maskstore_ps(out + row[r] * out_stride, lanes, _mm256_mul_ps(alpha, sum[r]));
}

ALWAYS_INLINE void ones_panel(float *out, int64_t out_stride, __m256 alpha, const char *panel,
                              const RbmOnes *left, __m256i lanes, bool subtract)
{
    const int64_t stride = left->list_stride;
    int64_t s = 0;
    for (; s + GROUP <= left->rows; s += GROUP)
        ones_group(out, out_stride, alpha, panel, left->lists + s * stride, stride,
                   left->row + s, left->length[s], lanes, subtract, GROUP);
    const uint16_t *lists = left->lists + s * stride;
    switch (left->rows - s) {
#define ONES_CASE(n)                                                                             \
    case n:                                                                                      \
        ones_group(out, out_stride, alpha, panel, lists, stride, left->row + s, left->length[s], \
                   lanes, subtract, n);                                                          \
        break;
        ONES_CASE(1) ONES_CASE(2) ONES_CASE(3) ONES_CASE(4) ONES_CASE(5) ONES_CASE(6) ONES_CASE(7)
#undef ONES_CASE
    default:
        break;
    }
}

void rbm_product_ones(float *out, int64_t out_stride, float alpha, float sign,
                      const RbmOnes *left, const float *panels, int64_t columns)
{
    const __m256 alpha_vector = _mm256_set1_ps(alpha);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t first = 0; first < columns; first += PANEL) {
        const char *panel = (const char *)(panels + first / PANEL * (left->depth + 1) * PANEL);
        const int64_t width = columns - first < PANEL ? columns - first : PANEL;
        const __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)width), lane);
        /* two inlined copies, so that each has its own kind of sum */
        if (sign < 0)
            ones_panel(out + first, out_stride, alpha_vector, panel, left, lanes, true);
        else
            ones_panel(out + first, out_stride, alpha_vector, panel, left, lanes, false);
    }
}

/* The counts of the ones row v of the second bit set shares with each of 8 columns h of the
 * first (hidden_bits + h, `lanes` of them, words hidden_stride apart), as 8 floats */
ALWAYS_INLINE __m256 hidden_counts(const uint64_t *hidden_bits, int64_t hidden_stride,
                                   const uint64_t *visible_bits, int64_t visible_stride,
                                   int64_t words, __m256i low_lanes, __m256i high_lanes)
{
    __m256i low = _mm256_setzero_si256(), high = _mm256_setzero_si256();
    for (int64_t w = 0; w < words; w++) {
        const __m256i word = _mm256_set1_epi64x((long long)visible_bits[w * visible_stride]);
        const long long *at = (const long long *)(hidden_bits + w * hidden_stride);
        low = _mm256_add_epi8(low, rbm_byte_popcounts(_mm256_and_si256(
                                       word, _mm256_maskload_epi64(at, low_lanes))));
        high = _mm256_add_epi8(high, rbm_byte_popcounts(_mm256_and_si256(
                                         word, _mm256_maskload_epi64(at + 4, high_lanes))));
    }
    return rbm_counts_to_floats(_mm256_sad_epu8(low, _mm256_setzero_si256()),
                                _mm256_sad_epu8(high, _mm256_setzero_si256()));
}

/* One group of `group_rows` lists (a constant where it is inlined), columns row[r] of the
 * velocity, against one panel of 8 hidden units: the sums as in rbm_gradient_ones, 8 units to
 * a register, into staging[v][8]; `counted`: their counts are there already */
ALWAYS_INLINE void gradient_group(float *staging, const uint64_t *hidden_bits, int64_t hidden,
                                  const uint64_t *visible_bits, int64_t visible, int64_t words,
                                  const uint16_t *lists, int64_t list_stride, const int32_t *row,
                                  int64_t length, const char *panel, __m256i low_lanes,
                                  __m256i high_lanes, bool counted, int group_rows)
{
    __m256 sum[GROUP];
    for (int r = 0; r < group_rows; r++) /* the counts: in staging already, or from the bits */
        sum[r] = counted ? _mm256_load_ps(staging + row[r] * PANEL)
                         : hidden_counts(hidden_bits, hidden, visible_bits + row[r], visible,
                                         words, low_lanes, high_lanes);
    for (int64_t step = 0; step < length; step += UNROLL)
        for (int r = 0; r < group_rows; r++) {
            uint64_t entries;
            memcpy(&entries, lists + r * list_stride + step, sizeof entries);
            for (int e = 0; e < UNROLL; e++)
                sum[r] = _mm256_sub_ps(sum[r], PANEL_ROW(panel, (entries >> (16 * e)) & 0xffff));
        }
    for (int r = 0; r < group_rows; r++)
        _mm256_store_ps(staging + row[r] * PANEL, sum[r]);
}

/* staging[v][u] = the count of the rows b where hidden unit u of the panel (bits: hidden_bits
 * + u, words `hidden` apart) and visible_bytes[b][v] are both 1, as the sum of the byte rows
 * of the unit's ones, 32 columns at a time in 16-bit lanes: the same whole numbers as the
 * bit counts, in a fifth of their time where the hidden samples are 7% ones */
static void counts_from_bytes(float *staging, const uint64_t *hidden_bits, int64_t hidden,
                              int64_t words, int64_t units, const uint8_t *visible_bytes,
                              int64_t byte_stride, int64_t visible)
{
    uint16_t rows_of[GROUP][8 * 64]; /* each unit's ones: at most 8 words (the caller's test) */
    int64_t ones[GROUP] = {0};
    for (int64_t u = 0; u < units; u++)
        for (int64_t w = 0; w < words; w++)
            for (uint64_t bits = hidden_bits[w * hidden + u]; bits; bits &= bits - 1)
                rows_of[u][ones[u]++] = (uint16_t)(64 * w + __builtin_ctzll(bits));
    for (int64_t v = 0; v < visible; v += 32) {
        _Alignas(32) uint16_t tile[GROUP][32];
        for (int64_t u = 0; u < GROUP; u++) {
            __m256i low = _mm256_setzero_si256(), high = _mm256_setzero_si256();
            for (int64_t i = 0; i < ones[u]; i++) {
                const __m256i bytes = _mm256_loadu_si256(
                    (const __m256i *)(visible_bytes + rows_of[u][i] * byte_stride + v));
                low = _mm256_add_epi16(low, _mm256_cvtepu8_epi16(_mm256_castsi256_si128(bytes)));
                high = _mm256_add_epi16(high,
                                        _mm256_cvtepu8_epi16(_mm256_extracti128_si256(bytes, 1)));
            }
            _mm256_store_si256((__m256i *)tile[u], low);
            _mm256_store_si256((__m256i *)(tile[u] + 16), high);
        }
        for (int64_t c = 0; c < 32 && v + c < visible; c += 8) {
            __m256 counts[GROUP]; /* counts[u]: unit u, 8 columns */
            for (int u = 0; u < GROUP; u++)
                counts[u] = _mm256_cvtepi32_ps(
                    _mm256_cvtepu16_epi32(_mm_load_si128((const __m128i *)(tile[u] + c))));
            rbm_transpose_8x8(counts); /* counts[j]: column v + c + j, 8 units */
            for (int64_t j = 0; j < 8 && v + c + j < visible; j++)
                _mm256_store_ps(staging + (v + c + j) * PANEL, counts[j]);
        }
    }
}

/* The steps of a tile of the panel's `units` rows and `columns` (up to 8) columns from v:
 * velocity[u][v] = beta * velocity[u][v] + alpha * staging[v][u], then, with weights, the
 * weight step as rbm_weight_step takes it, element by element: velocity -= weight_decay *
 * weight (where weight_decay is not 0), weight += learning_rate * velocity. Done here, the
 * weight step reads the velocity while it is still in registers. */
ALWAYS_INLINE void gradient_store(float *velocity, float *weights, int64_t stride, __m256 beta,
                                  __m256 alpha, __m256 learning_rate, __m256 weight_decay,
                                  bool decay, const float *staging, int64_t units, int columns)
{
    __m256 sum[GROUP];
    for (int c = 0; c < GROUP; c++)
        sum[c] = c < columns ? _mm256_load_ps(staging + c * PANEL) : _mm256_setzero_ps();
    rbm_transpose_8x8(sum); /* sum[u]: unit u, for the 8 columns */
    const __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32(columns),
                                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const bool full = columns == GROUP;
    for (int64_t u = 0; u < units; u++) {
        float *row = velocity + u * stride;
        const __m256 old = full ? _mm256_loadu_ps(row) : _mm256_maskload_ps(row, lanes);
        __m256 step = _mm256_add_ps(_mm256_mul_ps(beta, old), _mm256_mul_ps(alpha, sum[u]));
        if (weights) {
            float *weight_row = weights + u * stride;
            __m256 weight =
                full ? _mm256_loadu_ps(weight_row) : _mm256_maskload_ps(weight_row, lanes);
            if (decay)
                step = _mm256_sub_ps(step, _mm256_mul_ps(weight_decay, weight));
            weight = _mm256_add_ps(weight, _mm256_mul_ps(learning_rate, step));
            if (full)
                _mm256_storeu_ps(weight_row, weight);
            else
                _mm256_maskstore_ps(weight_row, lanes, weight);
        }
        if (full)
            _mm256_storeu_ps(row, step);
        else
            _mm256_maskstore_ps(row, lanes, step);
    }
}

void rbm_gradient_ones(float *velocity, float *weights, int64_t velocity_stride,
                       const RbmStepRule *rule, const uint64_t *hidden_bits,
                       const uint64_t *visible_bits, const uint8_t *visible_bytes,
                       int64_t byte_stride, int64_t words, const RbmOnes *visible_columns,
                       const float *hidden_panels, int64_t hidden, int64_t visible,
                       float *staging)
{
    const float beta = rule->beta, alpha = rule->alpha;
    const __m256 learning_rate = _mm256_set1_ps(rule->learning_rate);
    const __m256 weight_decay = _mm256_set1_ps(rule->weight_decay);
    const bool decay = rule->weight_decay != 0.0f;
    const __m256 beta_vector = _mm256_set1_ps(beta), alpha_vector = _mm256_set1_ps(alpha);
    const int64_t stride = visible_columns->list_stride, depth = visible_columns->depth;
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    /* the counts from the bytes where the hidden samples are few ones (their cost grows with
     * them), else from the bits (a fixed cost): the same numbers */
    int64_t hidden_ones = 0;
    for (int64_t i = 0; i < words * hidden; i++)
        hidden_ones += __builtin_popcountll(hidden_bits[i]);
    const bool from_bytes = words <= 8 && hidden_ones * 4 <= hidden * depth;
    for (int64_t unit = 0; unit < hidden; unit += PANEL) {
        const char *panel = (const char *)(hidden_panels + unit / PANEL * (depth + 1) * PANEL);
        const int64_t units = hidden - unit < PANEL ? hidden - unit : PANEL;
        const __m256i low_lanes = _mm256_cmpgt_epi64(_mm256_set1_epi64x(units), lane);
        const __m256i high_lanes = _mm256_cmpgt_epi64(_mm256_set1_epi64x(units - 4), lane);
        if (from_bytes)
            counts_from_bytes(staging, hidden_bits + unit, hidden, words, units, visible_bytes,
                              byte_stride, visible);
        /* the sums, by groups of columns with about as many ones, into staging[v] */
        int64_t s = 0;
        for (; s + GROUP <= visible; s += GROUP)
            if (from_bytes)
                gradient_group(staging, hidden_bits + unit, hidden, visible_bits, visible, words,
                               visible_columns->lists + s * stride, stride,
                               visible_columns->row + s, visible_columns->length[s], panel,
                               low_lanes, high_lanes, true, GROUP);
            else
                gradient_group(staging, hidden_bits + unit, hidden, visible_bits, visible, words,
                               visible_columns->lists + s * stride, stride,
                               visible_columns->row + s, visible_columns->length[s], panel,
                               low_lanes, high_lanes, false, GROUP);
        const uint16_t *lists = visible_columns->lists + s * stride;
        switch (visible - s) {
#define GRADIENT_CASE(n)                                                                         \
    case n:                                                                                      \
        gradient_group(staging, hidden_bits + unit, hidden, visible_bits, visible, words, lists, \
                       stride, visible_columns->row + s, visible_columns->length[s], panel,      \
                       low_lanes, high_lanes, from_bytes, n);                                    \
        break;
            GRADIENT_CASE(1) GRADIENT_CASE(2) GRADIENT_CASE(3) GRADIENT_CASE(4) GRADIENT_CASE(5)
            GRADIENT_CASE(6) GRADIENT_CASE(7)
#undef GRADIENT_CASE
        default:
            break;
        }
        /* then the velocity's rows (and the weights'), 8 columns at a time */
        float *rows = velocity + unit * velocity_stride;
        float *weight_rows = weights ? weights + unit * velocity_stride : NULL;
        int64_t v = 0;
        for (; v + GROUP <= visible; v += GROUP)
            gradient_store(rows + v, weight_rows ? weight_rows + v : NULL, velocity_stride,
                           beta_vector, alpha_vector, learning_rate, weight_decay, decay,
                           staging + v * PANEL, units, GROUP);
        if (v < visible)
            gradient_store(rows + v, weight_rows ? weight_rows + v : NULL, velocity_stride,
                           beta_vector, alpha_vector, learning_rate, weight_decay, decay,
                           staging + v * PANEL, units, (int)(visible - v));
    }
}

#else /* no AVX2: the plain forms, for the tests (the trainer uses OpenBLAS here) */

void rbm_pack_row_panels(float *panels, const float *in, int64_t in_stride, int64_t depth,
                         int64_t columns)
{
    for (int64_t first = 0; first < columns; first += PANEL) {
        float *panel = panels + first / PANEL * (depth + 1) * PANEL;
        for (int64_t k = 0; k <= depth; k++)
            for (int c = 0; c < PANEL; c++)
                panel[k * PANEL + c] =
                    k < depth && first + c < columns ? in[k * in_stride + first + c] : 0.0f;
    }
}

void rbm_pack_panels(float *panels, const float *in, int64_t in_stride, int64_t columns,
                     int64_t depth)
{
    for (int64_t first = 0; first < columns; first += PANEL) {
        float *panel = panels + first / PANEL * (depth + 1) * PANEL;
        for (int64_t k = 0; k <= depth; k++)
            for (int c = 0; c < PANEL; c++)
                panel[k * PANEL + c] =
                    k < depth && first + c < columns ? in[(first + c) * in_stride + k] : 0.0f;
    }
}

void rbm_gradient_ones(float *velocity, float *weights, int64_t velocity_stride,
                       const RbmStepRule *rule, const uint64_t *hidden_bits,
                       const uint64_t *visible_bits, const uint8_t *visible_bytes,
                       int64_t byte_stride, int64_t words, const RbmOnes *visible_columns,
                       const float *hidden_panels, int64_t hidden, int64_t visible,
                       float *staging)
{
    (void)staging, (void)visible_bytes, (void)byte_stride;
    const float beta = rule->beta, alpha = rule->alpha;
    const int64_t depth = visible_columns->depth;
    for (int64_t slot = 0; slot < visible; slot++) { /* list `slot` is column v's */
        const int64_t v = visible_columns->row[slot];
        const uint16_t *list = visible_columns->lists + slot * visible_columns->list_stride;
        for (int64_t h = 0; h < hidden; h++) {
            int count = 0;
            for (int64_t w = 0; w < words; w++)
                count += __builtin_popcountll(hidden_bits[w * hidden + h] &
                                              visible_bits[w * visible + v]);
            const float *panel = hidden_panels + h / PANEL * (depth + 1) * PANEL + h % PANEL;
            float sum = (float)count;
            for (int64_t e = 0; e < visible_columns->count[v]; e++)
                sum -= panel[2 * list[e]];
            float *out = velocity + h * velocity_stride + v;
            *out = beta * *out + alpha * sum;
            if (weights) {
                float *weight = weights + h * velocity_stride + v;
                if (rule->weight_decay != 0.0f)
                    *out -= rule->weight_decay * *weight;
                *weight += rule->learning_rate * *out;
            }
        }
    }
}

void rbm_product_ones(float *out, int64_t out_stride, float alpha, float sign,
                      const RbmOnes *left, const float *panels, int64_t columns)
{
    for (int64_t s = 0; s < left->rows; s++) {
        const uint16_t *list = left->lists + s * left->list_stride;
        for (int64_t j = 0; j < columns; j++) {
            const float *panel = panels + j / PANEL * (left->depth + 1) * PANEL + j % PANEL;
            float sum = 0.0f;
            for (int64_t e = 0; e < left->length[s]; e++)
                sum = sign > 0 ? sum + panel[2 * list[e]] : sum - panel[2 * list[e]];
            out[left->row[s] * out_stride + j] = alpha * sum;
        }
    }
}

#endif
