/*
 * One step of contrastive divergence, cut into work units whose shapes depend on the data and
 * the settings, never on the thread count (see README, "Same seed, same bits"):
 *
 *   sampling units  fixed row chunks of a mini-batch: rbm_cd_sample_chunk() converts the rows,
 *                   draws their random numbers at positions keyed to the sample, runs the Gibbs
 *                   step, and writes the rows' statistics into the batch buffers plus per-chunk
 *                   partial sums;
 *   update units    fixed column strips of W: rbm_cd_update_strip() turns the whole batch's
 *                   statistics into one matrix product per strip, then applies momentum and
 *                   the step.
 *
 * A unit reads only what the units before the last barrier wrote, so any worker (a thread, or
 * later an MPI rank that gathers the batch buffers) can compute any unit.
 */
#ifndef RBM_CD_H
#define RBM_CD_H

#include <stdbool.h>
#include <stdint.h>

#include "data/dataset.h"
#include "gemm.h"
#include "pcg32.h"
#include "product_ones.h"
#include "profile.h"

/* The one random stream of a run (seeded by the seed, one fixed stream constant): training
 * draws are numbered from 0, ((epoch * samples + sample) * draws_per_sample + j); the initial
 * weights are drawn from position 2^63 on. */
#define RBM_STREAM 0x5242u /* "RB" */
#define INIT_DRAW_OFFSET ((uint64_t)1 << 63)

typedef struct Parameters {
    float *weights;      /* [hidden][visible] */
    float *hidden_bias;  /* [hidden] */
    float *visible_bias; /* [visible] */
} Parameters;

typedef struct Shape {
    int64_t visible, hidden;
    int64_t batch_size;  /* rows of a full mini-batch */
    int64_t chunk_rows;  /* rows per sampling unit */
    int64_t strips;      /* update units: column strips of W */
    int64_t cd_steps;    /* Gibbs steps of the negative phase (CD-k) */
    bool persistent;     /* the negative phase continues chains kept across batches (PCD) */
    bool sparsity;       /* the hidden-bias step has a sparsity term (sums of h0p needed) */
    bool products_only;  /* run only the matrix products (rbm bench's floors) */
    bool openblas_products; /* every product through OpenBLAS (rbm bench's sgemm floor), not
                               the own kernels of gemm.h */
    bool streaming_updates; /* write W with non-temporal stores: other workers read it next */
    bool split_hidden;   /* units are strips of hidden units (split = hidden, cd_hidden.c) */
    bool bit_counts;     /* the gradient's h0^T v0 as exact bit counts, then hnp^T vn added */
    bool byte_handover;  /* split = rows with several workers: the chunks hand their 0/1 samples
                            (v0, vn, h0) to the update strips as bytes, not floats */
    bool streaming_samples; /* several workers: the hand-over bytes are written with
                               non-temporal stores (rbm_draw_samples) */
    int64_t workers;     /* threads in the pool: which worker reads what, for the choice of
                            streaming stores; never the arithmetic */
    int64_t partial_stride, partial_block; /* split = hidden: rbm_partial_stride() and
                                              rbm_partial_block(), worked out once */
    bool transposed_forward; /* the own products (gemm.h): the forward products v W^T read a
                                W^T made once per batch, by each worker for all of W (split =
                                rows, rbm_cd_take_weights) or for its strip (split = hidden) */
    bool ones_forward;   /* split = hidden with rbm's own products: the forward products v W_s^T as
                            sums of the rows of W_s^T where v is 1 (product_ones.h), on W_s
                            packed in panels once per batch; the same bits */
    bool ones_reverse;   /* split = hidden with rbm's own products: the partial reconstructions
                            h_s W_s as sums of the rows of W_s where h_s is 1, on W_s packed
                            in panels once per batch; the same bits */
    bool counted_gradient; /* split = hidden with rbm's own products, without bit_counts: the
                              gradient's sums start from h0^T v0's bit counts and go on over
                              hnp^T (-vn) (rbm_product_tn_counted); the same bits */
    bool ones_gradient;  /* counted_gradient with ones_forward: the rest of the sums without
                            the zero terms of -vn (rbm_gradient_ones); the same bits */
} Shape;

/* Bytes between rows of sample_bytes and hidden_bytes: the width rounded up to a cache line, so
 * every row starts a line of its own (and non-temporal stores can write it), and no line holds
 * rows that two workers write. */
static inline int64_t rbm_byte_stride(int64_t width) { return (width + 63) / 64 * 64; }

/* Random draws each sample consumes, one uniform per Bernoulli unit, in this order: v0 (V),
 * h0 (H), then for each Gibbs step s = 1..k: vn (V) and, unless it is the last step of plain
 * CD, the chain's hidden sample (H). CD-1 uses 2V + H. */
static inline uint64_t rbm_draws_per_sample(const Shape *shape)
{
    const uint64_t V = (uint64_t)shape->visible, H = (uint64_t)shape->hidden;
    const uint64_t k = (uint64_t)shape->cd_steps;
    return V + H + k * V + (k - 1 + (shape->persistent ? 1 : 0)) * H;
}

typedef struct BatchBuffers {
    int64_t rows;                /* rows in this mini-batch (the last one may be short) */
    int64_t first_row;           /* data row of batch row 0 */
    uint64_t first_draw;         /* draw index of batch row 0's first random number */
    const int64_t *order;        /* [samples]: data row at each position of the epoch (shuffle),
                                    or NULL for the stored order */
    float *chains;               /* [batch_size][hidden]: PCD chains' hidden states, or NULL */
    bool chains_start;           /* the run's first batch: the chains start from h0 */
    float *visible_stats;        /* [2 * batch_size][visible]: v0 rows, then -vn rows (split =
                                    rows; split = hidden has them in sample_bytes) */
    float *hidden_stats;         /* [2 * batch_size][hidden]: h0 rows, then hnp rows (split =
                                    hidden: [strips][rbm_strip_region(2 * batch_size)]) */
    float *chunk_visible_delta;  /* [chunks][visible]: sum over the chunk of v0p - vnp */
    float *chunk_hidden_delta;   /* [chunks][hidden]: sum over the chunk of h0 - hnp */
    double *chunk_squared_error; /* [chunks]: sum over the chunk of (v0p - vnp)^2, with vnp the
                                    one-step reconstruction of the data */
    float *chunk_hidden_probability; /* [chunks][hidden]: sum of h0p (sparsity only) */
    /* split = hidden only: */
    float *partials;       /* [strips][units][rbm_partial_block()]: strip s's h0_s W_s, by
                              column unit (rbm_partial_offset) */
    float *chain_partials; /* the same for the chain's h_s W_s (CD-k, PCD) */
    float *chain_hidden;   /* [strips][rbm_strip_region(batch_size)]: the chain's hidden
                              samples (CD-k, PCD) */
    /* split = hidden, and split = rows with byte_handover: */
    uint8_t *sample_bytes; /* [2 * batch_size][rbm_byte_stride(visible)]: v0 rows, then vn rows,
                              as 0/1 bytes: what the workers hand over, a quarter of the floats'
                              bytes */
    uint8_t *hidden_bytes; /* [batch_size][rbm_byte_stride(hidden)]: h0 as 0/1 bytes (split =
                              rows only) */
    float *strip_weights_transposed; /* split = hidden with transposed_forward:
                                        [strips][visible][rbm_product_stride(widest strip)]: W_s^T,
                                        made by rbm_hidden_forward */
    float *strip_panels;   /* split = hidden with ones_forward: [strips][rbm_panel_floats(widest
                              strip, visible)]: W_s packed for rbm_product_ones, made by
                              rbm_hidden_forward */
    float *strip_row_panels; /* with ones_reverse: [strips][rbm_row_panel_floats()]: W_s's
                                columns packed for rbm_product_ones, unit by unit, made by
                                rbm_hidden_forward */
} BatchBuffers;

typedef struct ChunkScratch {
    float *visible_probability; /* [chunk_rows][visible]: v0p */
    float *visible_work;        /* [chunk_rows][visible]: preactivations, then vnp */
    float *hidden_work;         /* [chunk_rows][hidden]: preactivations, then h0p */
    float *hidden_sample;       /* [chunk_rows][hidden]: the chain's hidden samples (CD-k, PCD) */
    float *strip_work;          /* [batch_size][ceil(hidden / strips)]: a hidden strip's
                                   preactivations and probabilities (split = hidden only) */
    float *visible_samples;     /* [2 * batch_size][visible]: this worker's float copy of
                                   sample_bytes, v0 rows then -vn rows (split = hidden without
                                   ones_gradient, whose products take lists and bits) */
    RbmOnes visible_ones[2];    /* ones_forward: this worker's lists of v0's and of vn's ones */
    RbmOnes hidden_ones;        /* ones_reverse: the lists of a strip's hidden samples */
    /* ones_gradient only: */
    uint64_t *reconstruction_bits; /* [ceil(batch_size / 64)][visible]: vn's columns as bits */
    RbmOnes reconstruction_columns; /* the lists of vn's columns (rbm_ones_lists_of_bits) */
    float *probability_panels;  /* [rbm_panel_floats(widest strip, batch_size)]: a strip's hnp,
                                   packed by rbm_pack_row_panels */
    float *gradient_staging;    /* [visible][8]: rbm_gradient_ones's sums on their way */
    /* bit_counts only, packed where the update can reuse them: */
    uint64_t *hidden_bits;      /* [ceil(batch_size / 64)][hidden]: h0's columns as bits (rows:
                                   all of h0, once per batch; hidden: the strip's) */
    uint64_t *visible_bits;     /* [ceil(batch_size / 64)][visible]: v0's (rows: the strip's
                                   columns; hidden: all of v0, once per batch) */
    /* split = rows with byte_handover only: */
    float *chunk_samples;       /* [2 * chunk_rows][visible]: the chunk's v0 rows, then -vn */
    float *chunk_hidden;        /* [chunk_rows][hidden]: the chunk's h0 */
    float *update_hidden;       /* [2 * batch_size][hidden]: h0 (from hidden_bytes), then hnp
                                   (not with bit_counts, whose product reads the batch's hnp) */
    float *update_visible;      /* [2 * batch_size][widest strip]: a strip's v0, then -vn (with
                                   bit_counts only -vn, v0 going to bits) */
    float *weights_transposed;  /* [visible][rbm_product_stride(hidden)]: W^T, this batch's
                                   (transposed_forward only) */
    Pcg32 rng;                  /* this worker's generator; jumped to each row's position */
    uint64_t position;          /* the draw index rng will produce next */
    PhaseTimer timer;           /* this worker's phase clock (off unless profiling) */
} ChunkScratch;

typedef struct UpdateRule {
    float learning_rate, momentum, weight_decay; /* this epoch's, after schedules */
    float sparsity_target, sparsity_cost;
} UpdateRule;

static inline int64_t rbm_chunk_count(const Shape *shape, int64_t rows)
{
    return (rows + shape->chunk_rows - 1) / shape->chunk_rows;
}

/* update_strips = 0: a power of two near visible * hidden / 2^17, from the shape alone. */
int64_t rbm_auto_strips(int64_t visible, int64_t hidden);

/* split = hidden (cd_hidden.c): the phases of a batch, each over its units, with a barrier
 * between phases. 1: rbm_hidden_sample_visible over row chunks; 2: rbm_hidden_forward over
 * hidden strips; then for step = 1..cd_steps, 3: rbm_hidden_visible_step over visible column
 * units (`strips` of them, from rbm_column_unit_start) and 4: rbm_hidden_hidden_step over
 * hidden strips. Strip s is hidden units [hidden * s / strips, hidden * (s + 1) / strips). */
void rbm_hidden_sample_visible(BatchBuffers *batch, ChunkScratch *scratch,
                               const RbmDataset *data, const Shape *shape, int64_t chunk);
/* Before phase 2 (step 0: v0) and each phase 4 (step 1..cd_steps: that step's vn), from
 * sample_bytes: the lists of the rows' ones (ones_forward), and the worker's float copy of them
 * (negated for vn) unless ones_gradient; at step 0 with bit_counts or counted_gradient, v0's
 * columns as bits (visible_bits), and at the last step with ones_gradient, vn's columns as bits
 * and lists, which the worker's gradients then use. */
void rbm_hidden_take_samples(ChunkScratch *scratch, const BatchBuffers *batch, const Shape *shape,
                             int64_t step);
void rbm_hidden_forward(BatchBuffers *batch, ChunkScratch *scratch, const Parameters *params,
                        const Shape *shape, int64_t strip);
void rbm_hidden_visible_step(BatchBuffers *batch, ChunkScratch *scratch, Parameters *params,
                             Parameters *velocity, const RbmDataset *data, const Shape *shape,
                             const UpdateRule *rule, int64_t unit, int64_t step);
void rbm_hidden_hidden_step(BatchBuffers *batch, ChunkScratch *scratch, Parameters *params,
                            Parameters *velocity, const Shape *shape, const UpdateRule *rule,
                            int64_t strip, int64_t step);

/* Helpers shared by the two splits (cd.c) */
/* The products of a step, as rbm_product_nn and rbm_product_tn (gemm.h) compute them, or
 * OpenBLAS with shape->openblas_products */
void rbm_cd_product_nn(float *out, int64_t out_stride, float alpha, const float *left,
                       int64_t left_stride, const float *right, int64_t right_stride,
                       int64_t rows, int64_t columns, int64_t depth, const Shape *shape);
void rbm_cd_product_tn(float *out, int64_t out_stride, float beta, float alpha,
                       const float *left, int64_t left_stride, const float *right,
                       int64_t right_stride, int64_t rows, int64_t columns, int64_t depth,
                       const Shape *shape);
/* velocity (rows x columns, `velocity_stride` apart) = momentum * velocity + [h0; hnp]^T [v0; -vn]
 * / B for the batch's B rows: `hidden` is [2B][hidden_stride] (h0 rows, then hnp), `visible`
 * [2B][visible_stride] (v0 rows, then -vn), one float32 product with K = 2B. With bit_counts the
 * h0^T v0 half is the exact bit counts of hidden_bits (`rows` columns of h0) and visible_bits
 * (`columns` of v0), packed by the caller, and `hidden` and `visible` are only the hnp and -vn
 * rows ([B][stride]), one product with K = B added on top. */
void rbm_cd_gradient(float *velocity, int64_t velocity_stride, const float *hidden,
                     int64_t hidden_stride, const float *visible, int64_t visible_stride,
                     const uint64_t *hidden_bits, const uint64_t *visible_bits, int64_t rows,
                     int64_t columns, int64_t B, float momentum, PhaseTimer *timer,
                     const Shape *shape);
/* Bernoulli samples of `rows` rows of `width` probabilities (probability_stride apart), row i's
 * uniforms drawn at first_draw + i * draws_per_row: out[i * out_stride + j] = sign or 0 (unless
 * out is NULL) and bytes[i * bytes_stride + j] = 1 or 0 (unless bytes is NULL), in one pass.
 * With `streaming`, whole rows of hand-over bytes, written as rbm_draw_samples streams them. */
void rbm_cd_sample_block(float *out, int64_t out_stride, uint8_t *bytes, int64_t bytes_stride,
                         bool streaming, const float *probability, int64_t probability_stride,
                         int64_t rows, int64_t width, ChunkScratch *scratch, uint64_t first_draw,
                         uint64_t draws_per_row, float sign);
/* The data rows at epoch positions [first_position, + rows), in stored or shuffled order, as
 * probabilities v0p, and v0 ~ Bernoulli(v0p) as floats (unless v0 is NULL) and 0/1 bytes (unless
 * bytes is NULL; rows rbm_byte_stride(visible) apart): 8-bit data is converted, the uniforms
 * drawn and the samples taken in one pass per row, row i's uniforms at first_draw + i *
 * draws_per_row. The float arrays are [rows][visible]. */
void rbm_cd_load_samples(float *v0p, float *v0, uint8_t *bytes, const RbmDataset *data,
                         const int64_t *order, int64_t first_position, int64_t rows,
                         ChunkScratch *scratch, const Shape *shape, uint64_t first_draw,
                         uint64_t draws_per_row);
/* sums[j] = sum over rows of values[i][j], rows added in order */
void rbm_cd_column_sums(float *sums, const float *values, int64_t rows, int64_t width);
/* Momentum steps for bias[first, end) from per-chunk sums (`chunks` of them, `stride` apart)
 * added in chunk order, with the sparsity term when `activity` is given; scale = 1 / rows. */
void rbm_cd_update_bias(float *bias, float *velocity, const float *chunk_sums,
                        const float *activity, int64_t stride, int64_t chunks, int64_t first,
                        int64_t end, float scale, const UpdateRule *rule, int64_t rows);

/* Before a worker's first sampling unit of the batch, with transposed_forward: its W^T */
void rbm_cd_take_weights(ChunkScratch *scratch, const Parameters *params, const Shape *shape);

/* Sampling unit `chunk` of the batch: rows [chunk * chunk_rows, ...) */
void rbm_cd_sample_chunk(BatchBuffers *batch, ChunkScratch *scratch, const Parameters *params,
                         const RbmDataset *data, const Shape *shape, int64_t chunk);

/* Before a worker's first update strip of the batch (split = rows): with bit_counts, h0's
 * columns as bits (hidden_bits), from the batch's floats or, with byte_handover, its bytes;
 * else with byte_handover, the worker's float copy of [h0; hnp] (update_hidden). */
void rbm_cd_take_hidden(ChunkScratch *scratch, const BatchBuffers *batch, const Shape *shape);

/* Where update strip `strip` of `strips` starts (strip = strips: where the last ends): at
 * visible * strip / strips, rounded down to a cache line (16 floats) where every strip then
 * keeps at least one, so that no line of W or its velocity holds two strips' columns */
static inline int64_t rbm_strip_start(int64_t visible, int64_t strips, int64_t strip)
{
    const int64_t start = visible * strip / strips;
    return visible >= 16 * strips && strip < strips ? start / 16 * 16 : start;
}

/* Where column unit `unit` of split = hidden's visible step starts (unit = units: where the
 * last ends): at visible * unit / units, rounded down to 64 columns where every unit then keeps
 * some, so that no cache line of a row's vn bytes, or of the visible-bias sums, holds two
 * workers' columns */
static inline int64_t rbm_column_unit_start(int64_t visible, int64_t units, int64_t unit)
{
    const int64_t start = visible * unit / units;
    return visible >= 64 * units && unit < units ? start / 64 * 64 : start;
}

/* The most columns an update strip has (split = rows) */
static inline int64_t rbm_widest_column_strip(int64_t visible, int64_t strips)
{
    int64_t widest = 0;
    for (int64_t strip = 0; strip < strips; strip++) {
        const int64_t width = rbm_strip_start(visible, strips, strip + 1) -
                              rbm_strip_start(visible, strips, strip);
        widest = width > widest ? width : widest;
    }
    return widest;
}

/* The most hidden units a strip of split = hidden has: ceil(hidden / strips) */
static inline int64_t rbm_widest_hidden_strip(const Shape *shape)
{
    return (shape->hidden + shape->strips - 1) / shape->strips;
}

/* `floats` rounded up to whole 4 KiB pages, or where that would add more than an eighth (many
 * small strips or units), to whole cache lines */
static inline int64_t rbm_page_rounded(int64_t floats)
{
    return floats >= 8 * 1024 ? (floats + 1023) / 1024 * 1024 : (floats + 15) / 16 * 16;
}

/* split = hidden keeps each strip's hidden statistics apart from the others', in a region of
 * its own that starts a 4 KiB page (rbm_page_rounded): h0_s's rows, then hnp_s's,
 * rbm_widest_hidden_strip() floats apart (the chain's samples likewise, in chain_hidden). In rows of all H units, each
 * strip's units side by side, every phase that wrote or read them ran slower at 2 threads
 * while the host's round trip between the cores was slow (the h0 sampling by half, the
 * gradient by 8%), and strips padded to whole lines but still side by side were no faster:
 * the hardware prefetchers, running on along a row into the other strip's lines, most likely
 * made those lines cross between the cores. Page-apart regions took the phases back to their
 * times in the fast state (BENCHMARKS.md, "Session 11"); the prefetchers stop at pages.
 * Floats per region, for `rows` rows of each strip (small regions: whole lines, not pages): */
static inline int64_t rbm_strip_region(const Shape *shape, int64_t rows)
{
    return rbm_page_rounded(rows * rbm_widest_hidden_strip(shape));
}

/* split = hidden keeps strip s's partial reconstruction h_s W_s by column unit: unit u's
 * columns of the batch's rows, rbm_partial_stride() floats apart, in a block of its own that
 * starts a page (rbm_page_rounded). The worker that sums unit u's columns then reads whole
 * blocks, and its prefetchers stay out of the lines of the columns other workers read: with
 * rows of all V columns, they fetched those lines too, which the strip's worker then had to
 * take back, across the cores, to write the next batch's partials. Rows of whole lines can
 * also be written with streaming stores (rbm_product_nn_streaming). */
static inline int64_t rbm_partial_stride(const Shape *shape)
{
    int64_t widest = 0;
    for (int64_t unit = 0; unit < shape->strips; unit++) {
        const int64_t width = rbm_column_unit_start(shape->visible, shape->strips, unit + 1) -
                              rbm_column_unit_start(shape->visible, shape->strips, unit);
        widest = width > widest ? width : widest;
    }
    /* units narrower than a few lines (many strips) stay dense: padded to a line each, their
     * blocks (strips x strips of them) would take up to 16 times the floats */
    return widest >= 64 ? rbm_product_stride(widest) : widest;
}

/* Floats per block */
static inline int64_t rbm_partial_block(const Shape *shape)
{
    return rbm_page_rounded(shape->batch_size * rbm_partial_stride(shape));
}

/* Where strip s's partials for column unit u start (shape->partial_block, worked out once:
 * the visible step asks for every row) */
static inline int64_t rbm_partial_offset(const Shape *shape, int64_t strip, int64_t unit)
{
    return (strip * shape->strips + unit) * shape->partial_block;
}

/* Floats of a strip's W_s packed by column unit (BatchBuffers.strip_row_panels): each unit's
 * panels (rbm_pack_row_panels) of the widest strip's depth, one after another */
static inline int64_t rbm_row_panel_floats(const Shape *shape)
{
    int64_t floats = 0;
    for (int64_t unit = 0; unit < shape->strips; unit++)
        floats += rbm_panel_floats(rbm_column_unit_start(shape->visible, shape->strips, unit + 1) -
                                       rbm_column_unit_start(shape->visible, shape->strips, unit),
                                   rbm_widest_hidden_strip(shape));
    return floats;
}

/* The row stride of split = hidden's W_s^T (BatchBuffers.strip_weights_transposed) */
static inline int64_t rbm_strip_transposed_stride(const Shape *shape)
{
    return rbm_product_stride(rbm_widest_hidden_strip(shape));
}

/* Update unit `strip`: columns [rbm_strip_start(strip), rbm_strip_start(strip + 1)) of W
 * and the visible bias, and the same share of the hidden bias. */
void rbm_cd_update_strip(Parameters *params, Parameters *velocity, const BatchBuffers *batch,
                         ChunkScratch *scratch, const Shape *shape, const UpdateRule *rule,
                         int64_t strip);

#endif
