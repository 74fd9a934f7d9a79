/*
 * CD-k / PCD with the work split by hidden units (split = hidden). Strip s, hidden units
 * [H s / S, H (s+1) / S) and so rows of W, belongs to one worker for the whole run: W never
 * crosses between cores. What crosses is the batch's samples and the strips' partial
 * reconstructions, in four phases per batch (three barriers between them, two more per extra
 * Gibbs step). The samples v0 and vn cross as 0/1 bytes (sample_bytes), a quarter of their
 * floats' size, and each worker makes of them what its products take (rbm_hidden_take_samples):
 * with rbm's own products (AVX2 or AVX-512), lists of their ones and their bits (the sums of the ones,
 * product_ones.h: the same bits as the dense products, in half their time or less,
 * BENCHMARKS.md, "Session 12"); otherwise its own float copy, which at 2 threads ran 5-8%
 * faster than one shared float array ("Session 5"). What one worker writes and another reads
 * lies apart from what others write (each strip's hidden statistics in a region of its own,
 * each strip's partials in a block per column unit: cd.h), and is written with streaming
 * stores where another worker reads it next (the samples; with the AVX2 dense kernels, the
 * partials others sum; the sums of the ones store plainly): while the host's cache-line round
 * trip between the two vCPUs here was slow (~470 ns), these took 2-thread epochs from 0.77 to
 * 0.68 s, about as fast as while it was quick (BENCHMARKS.md, "Session 11"). The phases:
 *   1. row chunks:      v0 ~ Bernoulli(v0p)
 *   2. hidden strips:   h0_s ~ sigmoid(v0 W_s^T + hb_s); partial_s = h0_s W_s
 *   3. visible columns: vnp = sigmoid(sum of the partials, in strip order, + vb); the
 *                       reconstruction error; vn ~ Bernoulli(vnp); after the last step, dvb and
 *                       the visible-bias step of those columns
 *   4. hidden strips:   hnp_s = sigmoid(vn W_s^T + hb_s); for another step, the chain's
 *                       h_s ~ Bernoulli(hnp_s) and its partial; after the last, the gradient
 *                       product and the W_s, hb_s steps
 * Every unit's shape, and every sum's order, is fixed by the shape alone, so the result is the
 * same for any thread count. The random draws are where cd.c draws them (per row: v0, h0, then
 * vn and h for each step), so the two splits sample alike and differ only in how the products
 * add up: the reverse product here is a sum of per-strip partial products.
 */
#include "cd.h"

#include <cblas.h>
#include <string.h>

#include "gemm.h"
#include "kernels.h"

static double gemm_flops(int64_t m, int64_t n, int64_t k)
{
    return 2.0 * (double)m * (double)n * (double)k;
}

/* Hidden units [first, end) of strip `strip` */
static void range_of(int64_t size, int64_t units, int64_t unit, int64_t *first, int64_t *end)
{
    *first = size * unit / units;
    *end = size * (unit + 1) / units;
}

/* Strip s's W_s^T in panels (ones_forward) */
static float *strip_panels(const BatchBuffers *batch, const Shape *shape, int64_t strip)
{
    return batch->strip_panels +
           strip * rbm_panel_floats(rbm_widest_hidden_strip(shape), shape->visible);
}

/* Strip s's W_s columns of column unit `unit` in panels (ones_reverse), and their width */
static float *unit_row_panels(const BatchBuffers *batch, const Shape *shape, int64_t strip,
                              int64_t unit, int64_t *column, int64_t *width)
{
    const int64_t V = shape->visible, widest = rbm_widest_hidden_strip(shape);
    float *panels = batch->strip_row_panels + strip * rbm_row_panel_floats(shape);
    for (int64_t before = 0; before < unit; before++) /* the units before it, one after another */
        panels += rbm_panel_floats(rbm_column_unit_start(V, shape->strips, before + 1) -
                                       rbm_column_unit_start(V, shape->strips, before),
                                   widest);
    *column = rbm_column_unit_start(V, shape->strips, unit);
    *width = rbm_column_unit_start(V, shape->strips, unit + 1) - *column;
    return panels;
}

/* out[B][n] = alpha * samples[B][V] W_s^T for strip s = hidden units [first, first + n), the
 * samples being v0 (reconstruction false) or -vn (true) in this worker's copy: the sums of
 * the ones, the own dense product on W_s^T, or OpenBLAS on W_s. The same bits from the first
 * two. */
static void strip_forward(float *out, float alpha, const ChunkScratch *scratch,
                          bool reconstruction, const BatchBuffers *batch,
                          const Parameters *params, const Shape *shape, int64_t strip,
                          int64_t first, int64_t n)
{
    const int64_t V = shape->visible, B = batch->rows;
    if (shape->ones_forward) {
        rbm_product_ones(out, n, alpha, reconstruction ? -1.0f : 1.0f,
                         &scratch->visible_ones[reconstruction], strip_panels(batch, shape, strip),
                         n);
        return;
    }
    const float *samples = scratch->visible_samples + (reconstruction ? B * V : 0);
    if (shape->transposed_forward) {
        const int64_t stride = rbm_strip_transposed_stride(shape);
        rbm_product_nn(out, n, alpha, samples, V,
                       batch->strip_weights_transposed + strip * V * stride, stride, B, n, V);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)n, (int)V, alpha, samples,
                    (int)V, params->weights + first * V, (int)V, 0.0f, out, (int)n);
    }
}

/* Draw index of row `row`'s first draw for step `step` (1-based): vn at +V, then h at +V+H. */
static uint64_t step_draws(const Shape *shape, const BatchBuffers *batch, int64_t row,
                           int64_t step)
{
    const uint64_t V = (uint64_t)shape->visible, H = (uint64_t)shape->hidden;
    return batch->first_draw + (uint64_t)row * rbm_draws_per_sample(shape) + V + H +
           (uint64_t)(step - 1) * (V + H);
}

void rbm_hidden_sample_visible(BatchBuffers *batch, ChunkScratch *scratch,
                               const RbmDataset *data, const Shape *shape, int64_t chunk)
{
    if (shape->products_only)
        return;
    const int64_t V = shape->visible;
    const int64_t first = chunk * shape->chunk_rows;
    const int64_t rows = batch->rows - first < shape->chunk_rows ? batch->rows - first
                                                                  : shape->chunk_rows;
    PhaseTimer *timer = &scratch->timer;
    phase_begin(timer);
    const uint64_t draws = rbm_draws_per_sample(shape);
    rbm_cd_load_samples(scratch->visible_probability, NULL,
                        batch->sample_bytes + first * rbm_byte_stride(V), data, batch->order,
                        batch->first_row + first, rows, scratch, shape,
                        batch->first_draw + (uint64_t)first * draws, draws);
    if (shape->streaming_samples) /* the hand-over bytes, before the barrier */
        rbm_streaming_fence();
    phase_end(timer, RBM_PHASE_SAMPLING, 0);
}

void rbm_hidden_take_samples(ChunkScratch *scratch, const BatchBuffers *batch, const Shape *shape,
                             int64_t step)
{
    if (shape->products_only)
        return;
    const bool reconstruction = step > 0;
    const int64_t V = shape->visible, B = batch->rows, byte_stride = rbm_byte_stride(V);
    const int64_t first = reconstruction ? B : 0; /* the vn rows follow the v0 rows */
    phase_begin(&scratch->timer);
    if (scratch->visible_samples) /* not with ones_gradient: every product takes bits or lists */
        for (int64_t i = first; i < first + B; i++)
            rbm_bytes_to_samples(scratch->visible_samples + i * V,
                                 batch->sample_bytes + i * byte_stride,
                                 reconstruction ? -1.0f : 1.0f, (size_t)V);
    if (shape->ones_forward) /* the ones of every row, for this worker's forward products */
        rbm_ones_lists(&scratch->visible_ones[reconstruction],
                       batch->sample_bytes + first * byte_stride, byte_stride, B, V);
    if (shape->ones_gradient && step == shape->cd_steps) { /* vn's columns, for the gradient */
        rbm_pack_byte_bits(scratch->reconstruction_bits, batch->sample_bytes + B * byte_stride,
                           byte_stride, B, V);
        rbm_ones_lists_of_bits(&scratch->reconstruction_columns, scratch->reconstruction_bits, V,
                               B);
    }
    /* v0's columns as bits, for every strip's update */
    if ((shape->bit_counts || shape->counted_gradient) && !reconstruction)
        rbm_pack_byte_bits(scratch->visible_bits, batch->sample_bytes, byte_stride, B, V);
    phase_end(&scratch->timer, RBM_PHASE_CONVERT, 0);
}

/* Strip s's partials = hidden_s W[first..end, :] for the batch's rows, hidden_s being the
 * strip's end - first units of B rows hidden_stride apart: one product per column unit, into
 * the unit's block. Each sum runs over the strip's units in the same order whatever the
 * columns of the product, so the blocks change where the sums go, not their bits. The blocks
 * another worker sums (unit u is worker u mod workers's, strip s worker s mod workers's) are
 * written with streaming stores: while the cores' round trip was slow, plain stores waited
 * for each line to come back from the core that read it in the last batch. */
static void partial_product(float *partials, const float *hidden_s, int64_t hidden_stride,
                            const Parameters *params, const Shape *shape,
                            const BatchBuffers *batch, ChunkScratch *scratch, int64_t strip,
                            int64_t first, int64_t end)
{
    const int64_t V = shape->visible, B = batch->rows, stride = shape->partial_stride;
    const int64_t n = end - first;
    PhaseTimer *timer = &scratch->timer;
    if (shape->ones_reverse) { /* the sums of W_s's rows where hidden_s is 1 */
        rbm_ones_lists_of_floats(&scratch->hidden_ones, hidden_s, hidden_stride, B, n);
        phase_end(timer, RBM_PHASE_CONVERT, 0);
        for (int64_t unit = 0; unit < shape->strips; unit++) {
            int64_t column, width;
            const float *panels = unit_row_panels(batch, shape, strip, unit, &column, &width);
            rbm_product_ones(partials + rbm_partial_offset(shape, strip, unit), stride, 1.0f,
                             1.0f, &scratch->hidden_ones, panels, width);
        }
        phase_end(timer, RBM_PHASE_REVERSE_SGEMM, gemm_flops(B, V, n));
        return;
    }
    bool streamed = false;
    for (int64_t unit = 0; unit < shape->strips; unit++) {
        const int64_t column = rbm_column_unit_start(V, shape->strips, unit);
        const int64_t width = rbm_column_unit_start(V, shape->strips, unit + 1) - column;
        float *out = partials + rbm_partial_offset(shape, strip, unit);
        const float *right = params->weights + first * V + column;
        if (!shape->openblas_products && unit % shape->workers != strip % shape->workers) {
            rbm_product_nn_streaming(out, stride, 1.0f, hidden_s, hidden_stride, right, V, B,
                                     width, n);
            streamed = true;
        } else {
            rbm_cd_product_nn(out, stride, 1.0f, hidden_s, hidden_stride, right, V, B, width, n,
                              shape);
        }
    }
    if (streamed) /* before the barrier */
        rbm_streaming_fence();
    phase_end(timer, RBM_PHASE_REVERSE_SGEMM, gemm_flops(B, V, n));
}

void rbm_hidden_forward(BatchBuffers *batch, ChunkScratch *scratch, const Parameters *params,
                        const Shape *shape, int64_t strip)
{
    const int64_t V = shape->visible, H = shape->hidden, B = batch->rows;
    int64_t first, end;
    range_of(H, shape->strips, strip, &first, &end);
    const int64_t n = end - first, stride = rbm_widest_hidden_strip(shape);
    float *h0 = batch->hidden_stats + strip * rbm_strip_region(shape, 2 * shape->batch_size);
    float *h0p = scratch->strip_work; /* [B][n] */
    PhaseTimer *timer = &scratch->timer;
    phase_begin(timer);
    if (shape->ones_forward) { /* W_s in panels, for this batch's forward products */
        rbm_pack_panels(strip_panels(batch, shape, strip), params->weights + first * V, V, n, V);
    } else if (shape->transposed_forward) { /* W_s^T, for this batch's forward products */
        const int64_t transposed_stride = rbm_strip_transposed_stride(shape);
        rbm_transpose(batch->strip_weights_transposed + strip * V * transposed_stride,
                      transposed_stride, params->weights + first * V, V, n, V);
    }
    /* h0p_s = sigmoid(v0 W_s^T + hb_s); h0_s ~ Bernoulli(h0p_s) */
    strip_forward(h0p, 1.0f, scratch, false, batch, params, shape, strip, first, n);
    phase_end(timer, RBM_PHASE_FORWARD_SGEMM, gemm_flops(B, n, V));
    if (shape->ones_reverse) { /* W_s's columns in panels, unit by unit, for the partials */
        for (int64_t unit = 0; unit < shape->strips; unit++) {
            int64_t column, width;
            float *panels = unit_row_panels(batch, shape, strip, unit, &column, &width);
            rbm_pack_row_panels(panels, params->weights + first * V + column, V, n, width);
        }
        phase_end(timer, RBM_PHASE_REVERSE_SGEMM, 0);
    }
    if (!shape->products_only) {
        for (int64_t i = 0; i < B; i++)
            rbm_sigmoid_bias(h0p + i * n, h0p + i * n, params->hidden_bias + first, (size_t)n);
        phase_end(timer, RBM_PHASE_SIGMOID, 0);
        if (shape->sparsity)
            rbm_cd_column_sums(batch->chunk_hidden_probability + first, h0p, B, n);
        rbm_cd_sample_block(h0, stride, NULL, 0, false, h0p, n, B, n, scratch,
                            batch->first_draw + (uint64_t)V + (uint64_t)first,
                            rbm_draws_per_sample(shape), 1.0f);
        phase_end(timer, RBM_PHASE_SAMPLING, 0);
    }
    /* the data's one-step reconstruction, and the chains' when PCD goes on from them */
    partial_product(batch->partials, h0, stride, params, shape, batch, scratch, strip, first,
                    end);
    if (shape->persistent && !batch->chains_start)
        partial_product(batch->chain_partials, batch->chains + first, H, params, shape, batch,
                        scratch, strip, first, end);
}

/* out[j] = sigmoid(sum over strips of their partials for column first + j of row `row`, in
 * strip order, + vb): the columns of column unit `unit` */
static void reconstruct_columns(float *out, const float *partials, const Parameters *params,
                                const Shape *shape, int64_t unit, int64_t row, int64_t first,
                                int64_t width)
{
    rbm_sigmoid_sum_bias(out, partials + rbm_partial_offset(shape, 0, unit) +
                                  row * shape->partial_stride,
                         shape->strips * shape->partial_block, shape->strips,
                         params->visible_bias + first, (size_t)width);
}

/* v0p[j] for columns [first, first + width) of batch row `row` */
static void load_columns(float *v0p, const RbmDataset *data, const BatchBuffers *batch,
                         int64_t row, int64_t first, int64_t width)
{
    const int64_t position = batch->first_row + row;
    const int64_t stored = batch->order ? batch->order[position] : position;
    const int64_t at = stored * data->columns + first;
    if (data->bytes)
        rbm_bytes_to_probability(v0p, data->bytes + at, (float)data->scale, (size_t)width);
    else
        memcpy(v0p, data->values + at, (size_t)width * sizeof(float));
}

/* Asks for row `row`'s columns of column unit `unit` in every strip's partials, a row ahead of
 * the sums. Most strips' lines come from the other cores that wrote them: at 2 threads the
 * visible step took a third less time with this while the traffic between the cores was
 * slow, and the same time while it was fast (BENCHMARKS.md, "Session 9"). */
static void prefetch_partials(const float *partials, const Shape *shape, int64_t unit,
                              int64_t row, int64_t width)
{
    for (int64_t strip = 0; strip < shape->strips; strip++) {
        const char *start =
            (const char *)(partials + rbm_partial_offset(shape, strip, unit) +
                           row * shape->partial_stride);
        for (int64_t byte = 0; byte < width * (int64_t)sizeof(float); byte += 64)
            __builtin_prefetch(start + byte, 0, 3);
    }
}

void rbm_hidden_visible_step(BatchBuffers *batch, ChunkScratch *scratch, Parameters *params,
                             Parameters *velocity, const RbmDataset *data, const Shape *shape,
                             const UpdateRule *rule, int64_t unit, int64_t step)
{
    if (shape->products_only)
        return;
    const int64_t V = shape->visible, B = batch->rows;
    int64_t first, end;
    first = rbm_column_unit_start(V, shape->strips, unit);
    end = rbm_column_unit_start(V, shape->strips, unit + 1);
    const int64_t width = end - first;
    const bool from_chains = shape->persistent && !batch->chains_start;
    const bool last = step == shape->cd_steps;
    /* A streamed row ends in a whole 16-byte block (rbm_draw_samples): only where that block
     * holds none of the next unit's columns */
    const bool streaming =
        shape->streaming_samples && first % 16 == 0 && (end % 16 == 0 || end == V);
    /* step 1 reconstructs the data's h0 (and, for PCD, the chains); later steps the chain's h */
    const float *chain = step == 1 && !from_chains ? batch->partials : batch->chain_partials;
    float *v0p = scratch->visible_probability, *data_vnp = scratch->visible_work;
    float *vnp = scratch->visible_work + V, *difference = scratch->visible_work + 2 * V;
    float *delta = batch->chunk_visible_delta; /* [V]: sum over rows of v0p - vnp, in order */
    PhaseTimer *timer = &scratch->timer;
    phase_begin(timer);
    if (last)
        memset(delta + first, 0, (size_t)width * sizeof(float));
    double squares = 0;
    for (int64_t i = 0; i < B; i++) {
        if (i + 1 < B) {
            if (step == 1)
                prefetch_partials(batch->partials, shape, unit, i + 1, width);
            if (chain != batch->partials)
                prefetch_partials(chain, shape, unit, i + 1, width);
        }
        if (step == 1 || last)
            load_columns(v0p, data, batch, i, first, width);
        if (step == 1) { /* the reconstruction error, of the data's one-step reconstruction */
            reconstruct_columns(data_vnp, batch->partials, params, shape, unit, i, first, width);
            squares += rbm_difference_sums(difference, v0p, data_vnp, 1, width);
        }
        const float *negative_vnp = data_vnp;
        if (chain != batch->partials) {
            reconstruct_columns(vnp, chain, params, shape, unit, i, first, width);
            negative_vnp = vnp;
        }
        if (last) { /* dvb from the last step's reconstruction (the data's, for CD-1) */
            if (negative_vnp != data_vnp || step != 1)
                rbm_difference_sums(difference, v0p, negative_vnp, 1, width);
            for (int64_t j = 0; j < width; j++)
                delta[first + j] += difference[j];
        }
        /* vn ~ Bernoulli(vnp), as bytes every worker reads next: with several workers,
         * streaming stores, which need not take the lines back from the other cores that read
         * them in the last batch (session 7 found them no faster on another host; here they
         * took the visible step from 0.25 to 0.21 s per 2 epochs while the cores' round trip
         * was slow, BENCHMARKS.md, "Session 11") */
        rbm_cd_sample_block(NULL, 0, batch->sample_bytes + (B + i) * rbm_byte_stride(V) + first, 0,
                            streaming, negative_vnp, 0, 1, width, scratch,
                            step_draws(shape, batch, i, step) + (uint64_t)first, 0, 1.0f);
    }
    if (streaming) /* the hand-over bytes, before the barrier */
        rbm_streaming_fence();
    if (step == 1)
        batch->chunk_squared_error[unit] = squares;
    /* One phase for the whole row loop: a clock read per row and step would cost more than the
     * profile may (2%). So in this split, sampling+rng also holds the sum of the partials, the
     * visible sigmoid and the byte conversion. */
    phase_end(timer, RBM_PHASE_SAMPLING, 0);
    if (last) /* nobody reads vb[first, end) again in this batch */
        rbm_cd_update_bias(params->visible_bias, velocity->visible_bias, delta, NULL, V, 1,
                           first, end, 1.0f / (float)B, rule, B);
    phase_end(timer, RBM_PHASE_UPDATE, 0);
}

void rbm_hidden_hidden_step(BatchBuffers *batch, ChunkScratch *scratch, Parameters *params,
                            Parameters *velocity, const Shape *shape, const UpdateRule *rule,
                            int64_t strip, int64_t step)
{
    const int64_t V = shape->visible, H = shape->hidden, B = batch->rows;
    int64_t first, end;
    range_of(H, shape->strips, strip, &first, &end);
    const int64_t n = end - first, stride = rbm_widest_hidden_strip(shape);
    float *pre = scratch->strip_work; /* [B][n] */
    float *h0 = batch->hidden_stats + strip * rbm_strip_region(shape, 2 * shape->batch_size);
    float *hnp = h0 + B * stride;
    float *chain = batch->chain_hidden ? batch->chain_hidden +
                                             strip * rbm_strip_region(shape, shape->batch_size)
                                       : NULL;
    PhaseTimer *timer = &scratch->timer;
    phase_begin(timer);
    /* hnp_s = sigmoid(vn W_s^T + hb_s): alpha = -1 undoes the stored sign */
    strip_forward(pre, -1.0f, scratch, true, batch, params, shape, strip, first, n);
    phase_end(timer, RBM_PHASE_FORWARD_SGEMM, gemm_flops(B, n, V));
    if (!shape->products_only) {
        for (int64_t i = 0; i < B; i++)
            rbm_sigmoid_bias(hnp + i * stride, pre + i * n, params->hidden_bias + first, (size_t)n);
        phase_end(timer, RBM_PHASE_SIGMOID, 0);
        if (step < shape->cd_steps || shape->persistent) { /* the chain goes on from h ~ hnp */
            for (int64_t i = 0; i < B; i++)
                rbm_cd_sample_block(chain + i * stride, 0, NULL, 0, false, hnp + i * stride, 0,
                                    1, n, scratch,
                                    step_draws(shape, batch, i, step) + (uint64_t)V +
                                        (uint64_t)first,
                                    0, 1.0f);
            phase_end(timer, RBM_PHASE_SAMPLING, 0);
        }
    }
    if (step < shape->cd_steps) { /* the next step's partial reconstruction */
        partial_product(batch->chain_partials, chain, stride, params, shape, batch, scratch,
                        strip, first, end);
        return;
    }
    /* velocity_s = momentum * velocity_s + [h0_s; hnp_s]^T [v0; -vn] / B: one product, K = 2B,
     * or with bit_counts or counted_gradient the bit counts of h0_s^T v0 and a product of the
     * rest, K = B (rbm_cd_gradient) */
    const float inverse_rows = 1.0f / (float)B;
    const bool bits = shape->bit_counts || shape->counted_gradient;
    if (bits && !shape->products_only) { /* the strip's columns of h0 */
        rbm_pack_sample_bits(scratch->hidden_bits, h0, stride, B, n);
        phase_end(timer, RBM_PHASE_CONVERT, 0);
    }
    const bool fused_step = shape->ones_gradient && !shape->products_only;
    if (fused_step) { /* the counts, then minus hnp where vn is 1; the weight step with it */
        rbm_pack_row_panels(scratch->probability_panels, hnp, stride, B, n);
        rbm_gradient_ones(velocity->weights + first * V, params->weights + first * V, V,
                          &(RbmStepRule){rule->momentum, inverse_rows, rule->learning_rate,
                                         rule->weight_decay},
                          scratch->hidden_bits, scratch->visible_bits, batch->sample_bytes,
                          rbm_byte_stride(V), (B + 63) / 64, &scratch->reconstruction_columns,
                          scratch->probability_panels, n, V, scratch->gradient_staging);
        /* the dense product's flops (RbmProfile.counted_gradient); the weight step's time
         * is in it too */
        phase_end(timer, RBM_PHASE_GRADIENT_SGEMM, gemm_flops(n, V, 2 * B));
    } else {
        rbm_cd_gradient(velocity->weights + first * V, V, bits ? hnp : h0, stride,
                        scratch->visible_samples + (bits ? B * V : 0), V, scratch->hidden_bits,
                        scratch->visible_bits, n, V, B, rule->momentum, timer, shape);
    }
    if (shape->products_only)
        return;
    if (shape->persistent)
        for (int64_t i = 0; i < B; i++)
            memcpy(batch->chains + i * H + first, chain + i * stride,
                   (size_t)n * sizeof(float));
    /* W_s stays in this worker's cache: plain stores */
    if (!fused_step)
        rbm_weight_step(params->weights + first * V, velocity->weights + first * V,
                        rule->learning_rate, rule->weight_decay, false, n, V, V);
    float *delta = batch->chunk_hidden_delta; /* [H]: sum over rows of h0 - hnp, in order */
    for (int64_t j = 0; j < n; j++)
        delta[first + j] = h0[j] - hnp[j];
    for (int64_t i = 1; i < B; i++)
        for (int64_t j = 0; j < n; j++)
            delta[first + j] += h0[i * stride + j] - hnp[i * stride + j];
    rbm_cd_update_bias(params->hidden_bias, velocity->hidden_bias, delta,
                       shape->sparsity ? batch->chunk_hidden_probability : NULL, H, 1, first,
                       end, inverse_rows, rule, B);
    phase_end(timer, RBM_PHASE_UPDATE, 0);
}
