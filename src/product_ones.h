/*
 * The forward products v W^T of CD, whose left operand is a 0/1 sample matrix (v0, vn), as
 * sums of the rows of W^T where a sample is 1: Fashion-MNIST's samples are 29% ones, so the
 * sums do a third of the dense product's work (BENCHMARKS.md, "Session 12").
 *
 * The same bits as the dense product (gemm.h): rbm_product_nn computes each output element
 * as the chain sum = fma(sample[k], right[k], sum) over the depth, in ascending order from +0.
 * For a sample of 1 (or -1) that is sum + right[k] (or sum - right[k]), rounded once: the
 * same operation. For a sample of 0 it adds +0 or -0, which changes no sum: a nonzero sum
 * stays itself, and a zero one stays +0 (the chain starts at +0, and a rounded sum is never
 * -0 unless both terms are). So the chain of the ones alone, in the same order, is the same
 * float, as long as `right` is finite (0 x infinity would be NaN in the dense chain; the
 * trainer stops with an error when its parameters stop being finite).
 *
 * How: the right operand packed in panels of 8 columns (rbm_pack_panels), each (depth + 1) x
 * 8 floats, 25 KiB at depth 784, so that a panel stays in L1 while every row's sums run
 * through it; a row of zeros at the end, where the lists are padded. The rows' lists in groups
 * of 8, longest first, so that a group's lists are of about the same length: each step adds one
 * panel row to each of the group's 8 sums, 8 independent chains.
 */
#ifndef RBM_PRODUCT_ONES_H
#define RBM_PRODUCT_ONES_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__AVX2__) && defined(__FMA__)
#define RBM_PRODUCT_ONES 1 /* the vector kernels below exist */
#else
#define RBM_PRODUCT_ONES 0
#endif

/* The depth the lists can address: an entry is 4 k, in 16 bits */
#define RBM_ONES_MAX_DEPTH 16000

/* A 0/1 matrix's rows as lists of their ones, in the order the kernel reads them */
typedef struct RbmOnes {
    int64_t capacity, capacity_depth; /* the shape it has room for */
    int64_t rows, depth;   /* the shape of the matrix listed last */
    int64_t ones;          /* its ones, all rows together */
    int64_t list_stride;   /* entries from one list to the next */
    uint16_t *lists;       /* [rows][list_stride]: list s holds the ones of row row[s] as 4 k
                              (the panel row's offset in 8-byte units), ascending, then 4 depth
                              (the zero row) up to length[s] */
    int32_t *row;          /* [rows]: the matrix row of list s, lists longest first */
    int32_t *length;       /* [rows]: list s's length: the longest of its group of 8, rounded up
                              to a multiple of 4 */
    int32_t *count;        /* [rows]: each matrix row's ones */
    int32_t *bucket;       /* [depth + 2]: where the lists of each count go (the sort's) */
} RbmOnes;

/* Room for `rows` x `depth` (depth at most RBM_ONES_MAX_DEPTH): 0, -EINVAL or -ENOMEM */
int rbm_ones_new(RbmOnes *ones, int64_t rows, int64_t depth);
void rbm_ones_free(RbmOnes *ones);

/* The lists of bytes[rows][depth] (rows and depth within the capacity, byte_stride apart; a
 * nonzero byte is a one). Callers keep to the capacity: these check nothing. */
void rbm_ones_lists(RbmOnes *ones, const uint8_t *bytes, int64_t byte_stride, int64_t rows,
                    int64_t depth);

/* The same from rows of floats (nonzero: a one), `stride` apart */
void rbm_ones_lists_of_floats(RbmOnes *ones, const float *values, int64_t stride, int64_t rows,
                              int64_t depth);

/* The same from the rows of bits[ceil(depth / 64)][rows]: bit k % 64 of
 * bits[(k / 64) * rows + r] is row r's at k < depth; the bits from depth on are 0 (as
 * rbm_pack_byte_bits and rbm_pack_sample_bits leave them) */
void rbm_ones_lists_of_bits(RbmOnes *ones, const uint64_t *bits, int64_t rows, int64_t depth);

#define RBM_PANEL_COLUMNS 8

/* Floats of rbm_pack_panels' output for `columns` columns */
static inline int64_t rbm_panel_floats(int64_t columns, int64_t depth)
{
    return (columns + RBM_PANEL_COLUMNS - 1) / RBM_PANEL_COLUMNS * (depth + 1) * RBM_PANEL_COLUMNS;
}



/* panels[p][depth + 1][8] = in[8 p + c][k] (in: columns rows of depth floats, in_stride apart),
 * zeros past the last column and in row `depth`: the right operand in_T, by panels. `panels`
 * 32-byte aligned. */
void rbm_pack_panels(float *panels, const float *in, int64_t in_stride, int64_t columns,
                     int64_t depth);

/* The same panels from in[depth][columns] (in_stride apart) as it lies: panels[p][k][c] =
 * in[k][8 p + c], for a right operand stored depth-major (W in h W) */
void rbm_pack_row_panels(float *panels, const float *in, int64_t in_stride, int64_t depth,
                         int64_t columns);

/* out[r][c] (out_stride apart) = alpha * the chain over k ascending, from +0, of
 * sum + sign * right[k][c] for the ones of row r (sign 1 or -1, alpha 1 or -1: exact), right
 * being the packed panels of `columns` columns */
void rbm_product_ones(float *out, int64_t out_stride, float alpha, float sign,
                      const RbmOnes *left, const float *panels, int64_t columns);

/* The factors of rbm_gradient_ones's steps */
typedef struct RbmStepRule {
    float beta, alpha;                 /* velocity = beta * velocity + alpha * sum */
    float learning_rate, weight_decay; /* the weight step's (rbm_weight_step) */
} RbmStepRule;

/* The CD gradient's step velocity[h][v] = beta * velocity[h][v] + alpha * sum, for h <
 * hidden and v < visible, sum being rbm_product_tn_counted's chain for [h0; hnp]^T [v0; -vn]
 * without its zero terms: from the count of the rows where h0 and v0 are both 1, minus
 * hnp[b][h] for each b in list v of visible_columns (vn's columns: rbm_ones_lists_of_bits),
 * ascending; hidden_panels are hnp's columns packed by rbm_pack_row_panels. The counts come
 * from the bits (hidden_bits and visible_bits, `words` words, as in gemm.h) or, where h0 is at
 * most a quarter ones and `words` at most 8, as sums of v0's 0/1 byte rows (visible_bytes,
 * byte_stride apart, readable up to the next multiple of 32 columns): the same numbers. The
 * same bits as the dense product, for finite hnp. The columns' sums go through
 * staging[visible][8] (32-byte aligned), in the lists' order: columns of about as many ones
 * share a group, where neighbouring columns padded half again as many sums. With `weights`
 * (velocity_stride apart too), each element's weight step follows its velocity's, as
 * rbm_weight_step (kernels.h) computes it. At most 31 words (the counts add up in bytes). */
void rbm_gradient_ones(float *velocity, float *weights, int64_t velocity_stride,
                       const RbmStepRule *rule, const uint64_t *hidden_bits,
                       const uint64_t *visible_bits, const uint8_t *visible_bytes,
                       int64_t byte_stride, int64_t words, const RbmOnes *visible_columns,
                       const float *hidden_panels, int64_t hidden, int64_t visible,
                       float *staging);

/* The same element by element: bytes[rows][depth] (byte_stride apart) as the left operand,
 * right[depth][columns] (right_stride apart) unpacked */
void rbm_product_ones_reference(float *out, int64_t out_stride, float alpha, float sign,
                                const uint8_t *bytes, int64_t byte_stride, const float *right,
                                int64_t right_stride, int64_t rows, int64_t columns,
                                int64_t depth);

#endif
