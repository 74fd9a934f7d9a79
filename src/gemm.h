/*
 * The trainer's own matrix products, where they beat OpenBLAS at the trainer's shapes: the
 * reconstruction h0 W (rbm_product_nn) and the gradient [h0; hnp]^T [v0; -vn]
 * (rbm_product_tn). Both are register-blocked AVX-512 (or AVX2) kernels that read their
 * operands where they lie: no packing, which is what OpenBLAS spends time on for products this
 * small (BENCHMARKS.md, "Session 7"). Only a deep gradient (large batches) goes in slices of the
 * depth, with a copy of each slice of `right` (BENCHMARKS.md, "Session 8"). The forward
 * product v0 W^T is rbm_product_nn too, on a W^T made once per batch (rbm_transpose): the
 * trainer runs no OpenBLAS product with AVX-512 or AVX2.
 *
 * Same bits wherever a block starts: every output element is one fused multiply-add chain
 * over the depth, in ascending order from 0, whatever rows and columns surround it. So the
 * result is a function of the element's row and column alone, never of the work split, and
 * rbm_product_*_reference (plain C, fmaf) gives the same bits. On a CPU with AVX2 and FMA but
 * no AVX-512 the same kernels at half the width (gemm_avx2.c) give the same bits again; with
 * neither, the products go to OpenBLAS (RBM_PRODUCTS_OWN is 0), whose results differ in the
 * last bits.
 */
#ifndef RBM_GEMM_H
#define RBM_GEMM_H

#include <stdint.h>

#if defined(__AVX512F__)
#define RBM_PRODUCTS_AVX512 1 /* gemm.c */
#define RBM_PRODUCTS_AVX2 0
#elif defined(__AVX2__) && defined(__FMA__)
#define RBM_PRODUCTS_AVX512 0
#define RBM_PRODUCTS_AVX2 1 /* gemm_avx2.c */
#else
#define RBM_PRODUCTS_AVX512 0
#define RBM_PRODUCTS_AVX2 0
#endif
#define RBM_PRODUCTS_OWN (RBM_PRODUCTS_AVX512 || RBM_PRODUCTS_AVX2)

/* The products with 0/1 samples as sums of the ones (product_ones.h) and the counted gradient
 * (below) are AVX2 code, which an AVX-512 build takes too: on a Xeon the reverse sums took
 * half the AVX-512 dense time, the gradient's sums 16% less and the forward ones about as
 * much at Fashion-MNIST's share of ones, and its epochs 19-22% less (BENCHMARKS.md, "Session
 * 13"; the trainer takes each where it pays, src/trainer.c). Compiled with
 * -DRBM_ONES_WITH_AVX512=0 (meson setup -Dc_args=...), such a build keeps its dense products,
 * to compare the two. Either way the same bits. */
#ifndef RBM_ONES_WITH_AVX512
#define RBM_ONES_WITH_AVX512 1
#endif
#define RBM_PRODUCTS_SUMS (RBM_PRODUCTS_AVX2 || (RBM_PRODUCTS_AVX512 && RBM_ONES_WITH_AVX512))

/* out[rows][columns] (out_stride apart) = alpha * (left[rows][depth] . right[depth][columns]),
 * alpha 1 or -1 (exact) */
void rbm_product_nn(float *out, int64_t out_stride, float alpha, const float *left,
                    int64_t left_stride,
                    const float *right, int64_t right_stride, int64_t rows, int64_t columns,
                    int64_t depth);

/* rbm_product_nn, for an `out` that other cores read next: the AVX2 kernels write its full
 * panels with non-temporal stores where out is 64-byte aligned and out_stride a multiple of 16
 * floats, so the lines need not come back from the cores that read them last (the caller
 * fences, rbm_streaming_fence, before they read again). The AVX-512 kernels, not yet measured
 * with them, and OpenBLAS store plainly. The same bits either way. */
void rbm_product_nn_streaming(float *out, int64_t out_stride, float alpha, const float *left,
                              int64_t left_stride, const float *right, int64_t right_stride,
                              int64_t rows, int64_t columns, int64_t depth);

/* out[rows][columns] = beta * out + alpha * (left[depth][rows]^T . right[depth][columns]),
 * each element as beta * out + alpha * sum, two products and one sum, rounded each. Unlike
 * BLAS, beta = 0 still reads out (0 * NaN is NaN). */
void rbm_product_tn(float *out, int64_t out_stride, float beta, float alpha, const float *left,
                    int64_t left_stride, const float *right, int64_t right_stride, int64_t rows,
                    int64_t columns, int64_t depth);

/* The ones two columns of bits share: the sum over `words` words (a_stride and b_stride apart)
 * of popcount(a[w] & b[w]) */
static inline int rbm_shared_ones(const uint64_t *a, int64_t a_stride, const uint64_t *b,
                                  int64_t b_stride, int64_t words)
{
    int count = 0;
    for (int64_t w = 0; w < words; w++)
        count += __builtin_popcountll(a[w * a_stride] & b[w * b_stride]);
    return count;
}

/* rbm_product_tn of [left0; left] and [right0; right] whose first parts are 0/1 matrices given
 * as bits (bit k % 64 of left_bits[(k / 64) * left_bits_stride + r] is left0[k][r], the same
 * for right_bits and column c; `words` words a row or column): each sum starts from the count
 * of the k where both are 1, then goes on over the `depth` rows of left and right. The same
 * bits as the whole product, since the chain's first sums are whole numbers, exact in a float
 * (below 2^24): the CD gradient [h0; hnp]^T [v0; -vn] with h0^T v0 as bit counts. AVX2 kernels
 * (gemm_avx2.c) where RBM_PRODUCTS_SUMS; elsewhere the plain reference stands in; at most 31
 * words. */
#define RBM_PRODUCT_TN_COUNTED RBM_PRODUCTS_SUMS
void rbm_product_tn_counted(float *out, int64_t out_stride, float beta, float alpha,
                            const uint64_t *left_bits, int64_t left_bits_stride,
                            const uint64_t *right_bits, int64_t right_bits_stride,
                            int64_t words, const float *left, int64_t left_stride,
                            const float *right, int64_t right_stride, int64_t rows,
                            int64_t columns, int64_t depth);

/* out[columns][rows] (out_stride apart) = in[rows][columns]^T: the forward product's W^T,
 * made once per batch, so that v0 W^T is a product in rbm_product_nn's form */
void rbm_transpose(float *out, int64_t out_stride, const float *in, int64_t in_stride,
                   int64_t rows, int64_t columns);

/* A row stride for a matrix whose rows are `width` floats: a whole number of cache lines, but
 * not a multiple of 512 bytes, whose rows would fall in too few cache sets (a 32 KiB 8-way L1
 * has 64 sets of lines: rows 512 bytes apart use 8 of them). A 125-hidden strip's W^T at stride
 * 128 made the forward product 15% slower on Zen 3 than at 144 (BENCHMARKS.md, "Session 10"). */
static inline int64_t rbm_product_stride(int64_t width)
{
    int64_t stride = (width + 15) / 16 * 16;
    return stride % 128 == 0 ? stride + 16 : stride;
}

/* The plain forms of the three, element by element (tests compare the kernels with them) */
void rbm_product_nn_reference(float *out, int64_t out_stride, float alpha, const float *left,
                              int64_t left_stride, const float *right, int64_t right_stride,
                              int64_t rows, int64_t columns, int64_t depth);
void rbm_product_tn_reference(float *out, int64_t out_stride, float beta, float alpha,
                              const float *left, int64_t left_stride, const float *right,
                              int64_t right_stride, int64_t rows, int64_t columns, int64_t depth);
void rbm_product_tn_counted_reference(float *out, int64_t out_stride, float beta, float alpha,
                                      const uint64_t *left_bits, int64_t left_bits_stride,
                                      const uint64_t *right_bits, int64_t right_bits_stride,
                                      int64_t words, const float *left, int64_t left_stride,
                                      const float *right, int64_t right_stride, int64_t rows,
                                      int64_t columns, int64_t depth);

#endif
