#include "cd.h"

#include <cblas.h>
#include <string.h>

#include "gemm.h"
#include "kernels.h"

/* The worker's generator at draw `index` of the one training stream, for the next n draws:
 * jumped there first, so a row's random numbers depend on its position, not on which worker
 * draws them. */
static Pcg32 *generator_at(ChunkScratch *scratch, uint64_t index, int64_t n)
{
    if (index != scratch->position)
        pcg32_advance(&scratch->rng, index - scratch->position);
    scratch->position = index + (uint64_t)n;
    return &scratch->rng;
}

void rbm_cd_sample_block(float *out, int64_t out_stride, uint8_t *bytes, int64_t bytes_stride,
                         bool streaming, const float *probability, int64_t probability_stride,
                         int64_t rows, int64_t width, ChunkScratch *scratch, uint64_t first_draw,
                         uint64_t draws_per_row, float sign)
{
    for (int64_t i = 0; i < rows; i++)
        rbm_draw_samples(out ? out + i * out_stride : NULL, bytes ? bytes + i * bytes_stride : NULL,
                         streaming, sign, probability + i * probability_stride,
                         generator_at(scratch, first_draw + (uint64_t)i * draws_per_row, width),
                         (size_t)width);
}

/* rbm_cd_sample_block for contiguous float rows of `width`, and hand-over bytes */
static void sample_rows(float *out, uint8_t *bytes, const float *probability, int64_t rows,
                        int64_t width, ChunkScratch *scratch, const Shape *shape,
                        uint64_t first_draw, uint64_t draws_per_row, float sign)
{
    rbm_cd_sample_block(out, width, bytes, rbm_byte_stride(width), shape->streaming_samples,
                        probability, width, rows, width, scratch, first_draw, draws_per_row, sign);
}

void rbm_cd_load_samples(float *v0p, float *v0, uint8_t *bytes, const RbmDataset *data,
                         const int64_t *order, int64_t first_position, int64_t rows,
                         ChunkScratch *scratch, const Shape *shape, uint64_t first_draw,
                         uint64_t draws_per_row)
{
    const int64_t V = data->columns, byte_stride = rbm_byte_stride(V);
    const bool streaming = shape->streaming_samples;
    for (int64_t i = 0; i < rows; i++) {
        const int64_t row = order ? order[first_position + i] : first_position + i;
        Pcg32 *rng = generator_at(scratch, first_draw + (uint64_t)i * draws_per_row, V);
        float *sample = v0 ? v0 + i * V : NULL;
        uint8_t *sample_bytes = bytes ? bytes + i * byte_stride : NULL;
        if (data->bytes) { /* 8-bit data: converted in the same pass */
            rbm_convert_draw_samples(v0p + i * V, sample, sample_bytes, streaming,
                                     data->bytes + row * V, (float)data->scale, rng, (size_t)V);
        } else {
            memcpy(v0p + i * V, data->values + row * V, (size_t)V * sizeof(float));
            rbm_draw_samples(sample, sample_bytes, streaming, 1.0f, v0p + i * V, rng, (size_t)V);
        }
    }
}

/* sums[j] = sum over rows of values[i][j], rows added in order */
void rbm_cd_column_sums(float *sums, const float *values, int64_t rows, int64_t width)
{
    memcpy(sums, values, (size_t)width * sizeof(float));
    for (int64_t i = 1; i < rows; i++)
        for (int64_t j = 0; j < width; j++)
            sums[j] += values[i * width + j];
}

static double gemm_flops(int64_t m, int64_t n, int64_t k) { return 2.0 * (double)m * (double)n * (double)k; }

/* vnp = sigmoid(hidden W + vb) */
static void reconstruct(float *vnp, const float *hidden, const Parameters *params, int64_t rows,
                        const Shape *shape, PhaseTimer *timer)
{
    const int64_t V = shape->visible, H = shape->hidden;
    rbm_cd_product_nn(vnp, V, 1.0f, hidden, H, params->weights, V, rows, V, H, shape);
    phase_end(timer, RBM_PHASE_REVERSE_SGEMM, gemm_flops(rows, V, H));
    for (int64_t i = 0; i < rows; i++)
        rbm_sigmoid_bias(vnp + i * V, vnp + i * V, params->visible_bias, (size_t)V);
    phase_end(timer, RBM_PHASE_SIGMOID, 0);
}

void rbm_cd_product_nn(float *out, int64_t out_stride, float alpha, const float *left,
                       int64_t left_stride, const float *right, int64_t right_stride,
                       int64_t rows, int64_t columns, int64_t depth, const Shape *shape)
{
    if (shape->openblas_products)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)columns,
                    (int)depth, alpha, left, (int)left_stride, right, (int)right_stride, 0.0f,
                    out, (int)out_stride);
    else
        rbm_product_nn(out, out_stride, alpha, left, left_stride, right, right_stride, rows,
                       columns, depth);
}

void rbm_cd_product_tn(float *out, int64_t out_stride, float beta, float alpha,
                       const float *left, int64_t left_stride, const float *right,
                       int64_t right_stride, int64_t rows, int64_t columns, int64_t depth,
                       const Shape *shape)
{
    if (shape->openblas_products)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)columns,
                    (int)depth, alpha, left, (int)left_stride, right, (int)right_stride, beta,
                    out, (int)out_stride);
    else
        rbm_product_tn(out, out_stride, beta, alpha, left, left_stride, right, right_stride,
                       rows, columns, depth);
}

void rbm_cd_take_weights(ChunkScratch *scratch, const Parameters *params, const Shape *shape)
{
    phase_begin(&scratch->timer);
    rbm_transpose(scratch->weights_transposed, rbm_product_stride(shape->hidden), params->weights,
                  shape->visible, shape->hidden, shape->visible);
    /* it stands for the packing OpenBLAS does inside the product */
    phase_end(&scratch->timer, RBM_PHASE_FORWARD_SGEMM, 0);
}

/* hidden[rows][H] = alpha * samples[rows][V] W^T: the own product on this batch's W^T, or
 * OpenBLAS on W */
static void forward_product(float *hidden, float alpha, const float *samples, int64_t rows,
                            const ChunkScratch *scratch, const Parameters *params,
                            const Shape *shape)
{
    const int64_t V = shape->visible, H = shape->hidden;
    if (shape->transposed_forward)
        rbm_product_nn(hidden, H, alpha, samples, V, scratch->weights_transposed,
                       rbm_product_stride(H), rows, H, V);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)H, (int)V, alpha,
                    samples, (int)V, params->weights, (int)V, 0.0f, hidden, (int)H);
}

void rbm_cd_sample_chunk(BatchBuffers *batch, ChunkScratch *scratch, const Parameters *params,
                         const RbmDataset *data, const Shape *shape, int64_t chunk)
{
    const int64_t V = shape->visible, H = shape->hidden;
    const int64_t first = chunk * shape->chunk_rows;
    const int64_t rows = batch->rows - first < shape->chunk_rows ? batch->rows - first
                                                                  : shape->chunk_rows;
    const uint64_t draws = rbm_draws_per_sample(shape);
    const uint64_t position = batch->first_draw + (uint64_t)first * draws;
    /* One worker writes its samples straight into the batch's float arrays; several keep their
     * floats and hand the update strips 0/1 bytes (byte_handover) */
    const bool handover = shape->byte_handover;
    /* [rows][V] */
    float *v0 = handover ? scratch->chunk_samples : batch->visible_stats + first * V;
    float *negative_vn = handover ? scratch->chunk_samples + rows * V
                                  : batch->visible_stats + (batch->rows + first) * V;
    float *h0 = handover ? scratch->chunk_hidden : batch->hidden_stats + first * H; /* [rows][H] */
    float *hnp = batch->hidden_stats + (batch->rows + first) * H;
    float *v0p = scratch->visible_probability, *vnp = scratch->visible_work;
    float *hidden = scratch->hidden_work;
    PhaseTimer *timer = &scratch->timer;
    phase_begin(timer);
    if (shape->products_only) { /* the same products as below, on whatever the buffers hold */
        forward_product(hidden, 1.0f, v0, rows, scratch, params, shape);
        const bool from_chains = shape->persistent && !batch->chains_start;
        /* step 0: the data's reconstruction; steps 1..k: the chain's, where it is not that one */
        for (int64_t step = 0; step <= shape->cd_steps; step++) {
            if (step == 0 || step > 1 || from_chains)
                rbm_cd_product_nn(vnp, V, 1.0f, h0, H, params->weights, V, rows, V, H, shape);
            if (step >= 1)
                forward_product(hidden, -1.0f, negative_vn, rows, scratch, params, shape);
        }
        return;
    }

    /* v0p: the stored rows as probabilities; v0 ~ Bernoulli(v0p): one pass per row */
    const int64_t visible_bytes = rbm_byte_stride(V), hidden_bytes = rbm_byte_stride(H);
    rbm_cd_load_samples(v0p, v0, handover ? batch->sample_bytes + first * visible_bytes : NULL,
                        data, batch->order, batch->first_row + first, rows, scratch, shape,
                        position, draws);
    phase_end(timer, RBM_PHASE_SAMPLING, 0);

    /* h0p = sigmoid(v0 W^T + hb); h0 ~ Bernoulli(h0p) */
    forward_product(hidden, 1.0f, v0, rows, scratch, params, shape);
    phase_end(timer, RBM_PHASE_FORWARD_SGEMM, gemm_flops(rows, H, V));
    for (int64_t i = 0; i < rows; i++)
        rbm_sigmoid_bias(hidden + i * H, hidden + i * H, params->hidden_bias, (size_t)H);
    phase_end(timer, RBM_PHASE_SIGMOID, 0);
    if (shape->sparsity)
        rbm_cd_column_sums(batch->chunk_hidden_probability + chunk * H, hidden, rows, H);
    sample_rows(h0, handover ? batch->hidden_bytes + first * hidden_bytes : NULL, hidden, rows, H,
                scratch, shape, position + (uint64_t)V, draws, 1.0f);
    phase_end(timer, RBM_PHASE_SAMPLING, 0);

    /* vnp = sigmoid(h0 W + vb): the data's one-step reconstruction */
    reconstruct(vnp, h0, params, rows, shape, timer);

    /* the chunk's share of dvb = mean(v0p - vnp) and of the reconstruction error */
    batch->chunk_squared_error[chunk] =
        rbm_difference_sums(batch->chunk_visible_delta + chunk * V, v0p, vnp, rows, V);
    phase_end(timer, RBM_PHASE_UPDATE, 0);

    /* The negative phase: k Gibbs steps from h0 (CD) or from the chains (PCD). */
    const bool from_chains = shape->persistent && !batch->chains_start;
    const float *chain_hidden = from_chains ? batch->chains + first * H : h0;
    uint64_t at = position + (uint64_t)(V + H);
    for (int64_t step = 1; step <= shape->cd_steps; step++) {
        if (step > 1 || from_chains)
            reconstruct(vnp, chain_hidden, params, rows, shape, timer);
        /* vn ~ Bernoulli(vnp), stored negated: the update's one product then subtracts it */
        uint8_t *vn_bytes = handover && step == shape->cd_steps /* the update's vn */
                                ? batch->sample_bytes + (batch->rows + first) * visible_bytes
                                : NULL;
        sample_rows(negative_vn, vn_bytes, vnp, rows, V, scratch, shape, at, draws, -1.0f);
        at += (uint64_t)V;
        phase_end(timer, RBM_PHASE_SAMPLING, 0);

        /* hnp = sigmoid(vn W^T + hb): alpha = -1 undoes the stored sign exactly */
        forward_product(hidden, -1.0f, negative_vn, rows, scratch, params, shape);
        phase_end(timer, RBM_PHASE_FORWARD_SGEMM, gemm_flops(rows, H, V));
        for (int64_t i = 0; i < rows; i++)
            rbm_sigmoid_bias(hnp + i * H, hidden + i * H, params->hidden_bias, (size_t)H);
        phase_end(timer, RBM_PHASE_SIGMOID, 0);
        if (step < shape->cd_steps || shape->persistent) { /* the chain goes on from h ~ hnp */
            sample_rows(scratch->hidden_sample, NULL, hnp, rows, H, scratch, shape, at, draws,
                        1.0f);
            at += (uint64_t)H;
            chain_hidden = scratch->hidden_sample;
            phase_end(timer, RBM_PHASE_SAMPLING, 0);
        }
    }
    if (shape->persistent)
        memcpy(batch->chains + first * H, chain_hidden, (size_t)(rows * H) * sizeof(float));
    if (shape->cd_steps > 1 || from_chains) /* dvb uses the negative phase's vnp */
        rbm_difference_sums(batch->chunk_visible_delta + chunk * V, v0p, vnp, rows, V);

    /* the chunk's share of dhb = mean(h0 - hnp) */
    rbm_difference_sums(batch->chunk_hidden_delta + chunk * H, h0, hnp, rows, H);
    if (shape->streaming_samples) /* the hand-over bytes, before the barrier */
        rbm_streaming_fence();
    phase_end(timer, RBM_PHASE_UPDATE, 0);
}

/* velocity = momentum * velocity + delta_sum * scale; param += learning_rate * velocity */
static void momentum_step(float *param, float *velocity, const float *delta_sum, float scale,
                          const UpdateRule *rule, int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        velocity[j] = rule->momentum * velocity[j] + delta_sum[j] * scale;
        param[j] += rule->learning_rate * velocity[j];
    }
}

/* out[j] = sum over chunks c of chunk_sums[c * stride + j], chunks added in order */
static void add_chunks(float *out, const float *chunk_sums, int64_t stride, int64_t chunks,
                       int64_t n)
{
    memcpy(out, chunk_sums, (size_t)n * sizeof(float));
    for (int64_t c = 1; c < chunks; c++)
        for (int64_t j = 0; j < n; j++)
            out[j] += chunk_sums[c * stride + j];
}

/* Applies momentum steps to bias[first, end) from the per-chunk sums, added in chunk order.
 * With `activity` (the chunks' sums of h0p), each unit's sum also gets the sparsity term
 * cost * (target * rows - sum of h0p), which the scale then turns into a mean (Lee, Ekanadham
 * and Ng 2008 regularise only the hidden biases, as here). */
void rbm_cd_update_bias(float *bias, float *velocity, const float *chunk_sums,
                        const float *activity, int64_t stride, int64_t chunks, int64_t first,
                        int64_t end, float scale, const UpdateRule *rule, int64_t rows)
{
    float sum[256], active[256];
    for (int64_t start = first; start < end; start += 256) {
        int64_t n = end - start < 256 ? end - start : 256;
        add_chunks(sum, chunk_sums + start, stride, chunks, n);
        if (activity) {
            add_chunks(active, activity + start, stride, chunks, n);
            for (int64_t j = 0; j < n; j++)
                sum[j] += rule->sparsity_cost * (rule->sparsity_target * (float)rows - active[j]);
        }
        momentum_step(bias + start, velocity + start, sum, scale, rule, n);
    }
}

void rbm_cd_gradient(float *velocity, int64_t velocity_stride, const float *hidden,
                     int64_t hidden_stride, const float *visible, int64_t visible_stride,
                     const uint64_t *hidden_bits, const uint64_t *visible_bits, int64_t rows,
                     int64_t columns, int64_t B, float momentum, PhaseTimer *timer,
                     const Shape *shape)
{
    const float inverse_rows = 1.0f / (float)B;
    const int64_t words = (B + 63) / 64;
    if (shape->counted_gradient) {
        /* the product's sums start from h0^T v0's counts, the whole numbers the dense chain
         * holds after its first B terms: the same bits as the product below */
        rbm_product_tn_counted(velocity, velocity_stride, momentum, inverse_rows, hidden_bits,
                               rows, visible_bits, columns, words, hidden, hidden_stride,
                               visible, visible_stride, rows, columns, B);
        /* the dense product's flops, as for the forward sums (RbmProfile.counted_gradient) */
        phase_end(timer, RBM_PHASE_GRADIENT_SGEMM, gemm_flops(rows, columns, 2 * B));
        return;
    }
    if (!shape->bit_counts) {
        rbm_cd_product_tn(velocity, velocity_stride, momentum, inverse_rows, hidden,
                          hidden_stride, visible, visible_stride, rows, columns, 2 * B, shape);
        phase_end(timer, RBM_PHASE_GRADIENT_SGEMM, gemm_flops(rows, columns, 2 * B));
        return;
    }
    /* h0^T v0 counts the rows where both samples are 1: exact in any order */
    rbm_bit_count_momentum(velocity, velocity_stride, momentum, inverse_rows, hidden_bits, rows,
                           visible_bits, columns, words);
    rbm_cd_product_tn(velocity, velocity_stride, 1.0f, inverse_rows, hidden, hidden_stride,
                      visible, visible_stride, rows, columns, B, shape);
    /* the float32 half's flops; the phase's time includes the bit counts */
    phase_end(timer, RBM_PHASE_GRADIENT_SGEMM, gemm_flops(rows, columns, B));
}

void rbm_cd_take_hidden(ChunkScratch *scratch, const BatchBuffers *batch, const Shape *shape)
{
    if (shape->products_only)
        return;
    const int64_t H = shape->hidden, B = batch->rows;
    phase_begin(&scratch->timer);
    const int64_t byte_stride = rbm_byte_stride(H);
    if (shape->bit_counts) { /* once per batch, whichever strips this worker updates */
        if (shape->byte_handover)
            rbm_pack_byte_bits(scratch->hidden_bits, batch->hidden_bytes, byte_stride, B, H);
        else
            rbm_pack_sample_bits(scratch->hidden_bits, batch->hidden_stats, H, B, H);
    } else if (shape->byte_handover) {
        for (int64_t i = 0; i < B; i++)
            rbm_bytes_to_samples(scratch->update_hidden + i * H,
                                 batch->hidden_bytes + i * byte_stride, 1.0f, (size_t)H);
        memcpy(scratch->update_hidden + B * H, batch->hidden_stats + B * H,
               (size_t)(B * H) * sizeof(float));
    }
    phase_end(&scratch->timer, RBM_PHASE_CONVERT, 0);
}

void rbm_cd_update_strip(Parameters *params, Parameters *velocity, const BatchBuffers *batch,
                         ChunkScratch *scratch, const Shape *shape, const UpdateRule *rule,
                         int64_t strip)
{
    const int64_t V = shape->visible, H = shape->hidden, B = batch->rows;
    const int64_t column = rbm_strip_start(V, shape->strips, strip);
    const int64_t columns = rbm_strip_start(V, shape->strips, strip + 1) - column;
    const float inverse_rows = 1.0f / (float)B;
    const int64_t chunks = rbm_chunk_count(shape, B);
    PhaseTimer *timer = &scratch->timer;
    phase_begin(timer);
    /* The float rows of the gradient's product: [h0; hnp] and the strip's columns of [v0; -vn],
     * or with bit_counts only hnp and -vn (h0 and v0 go in as bits). They are the batch's
     * floats, or this worker's copy of them from the chunks' bytes. */
    const int64_t float_rows = shape->bit_counts ? B : 0; /* the first float row */
    const int64_t byte_stride = rbm_byte_stride(V);
    const float *hidden = batch->hidden_stats + float_rows * H, *visible;
    int64_t visible_stride;
    if (shape->byte_handover) {
        if (!shape->bit_counts)
            hidden = scratch->update_hidden;
        visible = scratch->update_visible;
        visible_stride = columns;
        for (int64_t i = float_rows; i < 2 * B && !shape->products_only; i++)
            rbm_bytes_to_samples(scratch->update_visible + (i - float_rows) * columns,
                                 batch->sample_bytes + i * byte_stride + column,
                                 i < B ? 1.0f : -1.0f, (size_t)columns);
    } else {
        visible = batch->visible_stats + float_rows * V + column;
        visible_stride = V;
    }
    if (shape->bit_counts && !shape->products_only) { /* the strip's columns of v0 as bits */
        if (shape->byte_handover)
            rbm_pack_byte_bits(scratch->visible_bits, batch->sample_bytes + column, byte_stride,
                               B, columns);
        else
            rbm_pack_sample_bits(scratch->visible_bits, batch->visible_stats + column, V, B,
                                 columns);
    }
    if (shape->byte_handover || shape->bit_counts)
        phase_end(timer, RBM_PHASE_CONVERT, 0);
    /* velocity_W = momentum * velocity_W + [h0; hnp]^T [v0; -vn] / B */
    float *velocity_w = velocity->weights + column;
    float *weights = params->weights + column;
    rbm_cd_gradient(velocity_w, V, hidden, H, visible, visible_stride, scratch->hidden_bits,
                    scratch->visible_bits, H, columns, B, rule->momentum, timer, shape);
    if (shape->products_only)
        return;
    rbm_weight_step(weights, velocity_w, rule->learning_rate, rule->weight_decay,
                    shape->streaming_updates, H, columns, V);
    rbm_cd_update_bias(params->visible_bias, velocity->visible_bias, batch->chunk_visible_delta,
                       NULL, V, chunks, column, column + columns, inverse_rows, rule, B);
    rbm_cd_update_bias(params->hidden_bias, velocity->hidden_bias, batch->chunk_hidden_delta,
                       shape->sparsity ? batch->chunk_hidden_probability : NULL, H, chunks,
                       H * strip / shape->strips, H * (strip + 1) / shape->strips, inverse_rows,
                       rule, B);
    phase_end(timer, RBM_PHASE_UPDATE, 0);
}
