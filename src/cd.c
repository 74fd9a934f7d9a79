#include "cd.h"

#include <cblas.h>
#include <string.h>

#include "kernels.h"

/* Fills scratch->uniform with draws [index, index + n) of the one training stream, jumping the
 * worker's generator there first: a row's random numbers depend on its position, not on which
 * worker draws them. */
static void draw_uniforms(ChunkScratch *scratch, uint64_t index, int64_t n)
{
    if (index != scratch->position)
        pcg32_advance(&scratch->rng, index - scratch->position);
    pcg32_fill_uniform(&scratch->rng, scratch->uniform, (size_t)n);
    scratch->position = index + (uint64_t)n;
}

void rbm_cd_sample_chunk(BatchBuffers *batch, ChunkScratch *scratch, const Parameters *params,
                         const RbmDataset *data, const Shape *shape, int64_t chunk)
{
    const int64_t V = shape->visible, H = shape->hidden;
    const int64_t first = chunk * shape->chunk_rows;
    const int64_t rows = batch->rows - first < shape->chunk_rows ? batch->rows - first
                                                                  : shape->chunk_rows;
    const uint64_t draws = rbm_draws_per_sample(shape);
    float *v0 = batch->visible_stats + first * V;                 /* [rows][V] */
    float *negative_vn = batch->visible_stats + (batch->rows + first) * V;
    float *h0 = batch->hidden_stats + first * H;                  /* [rows][H] */
    float *hnp = batch->hidden_stats + (batch->rows + first) * H;
    float *visible_delta = batch->chunk_visible_delta + chunk * V;
    float *hidden_delta = batch->chunk_hidden_delta + chunk * H;
    const uint64_t position = batch->first_draw + (uint64_t)first * draws;

    /* v0 ~ Bernoulli(v0p), one row at a time from the stored data (bytes or floats). */
    for (int64_t i = 0; i < rows; i++) {
        float *probability = scratch->visible_probability + i * V;
        int64_t data_row = batch->first_row + first + i;
        if (data->bytes)
            rbm_bytes_to_probability(probability, data->bytes + data_row * V,
                                     data->byte_to_probability, (size_t)V);
        else
            memcpy(probability, data->values + data_row * V, (size_t)V * sizeof(float));
        draw_uniforms(scratch, position + (uint64_t)i * draws, V);
        rbm_bernoulli(v0 + i * V, probability, scratch->uniform, (size_t)V);
    }
    /* h0 ~ Bernoulli(sigmoid(v0 W^T + hb)) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)H, (int)V, 1.0f, v0,
                (int)V, params->weights, (int)V, 0.0f, scratch->hidden_work, (int)H);
    for (int64_t i = 0; i < rows; i++) {
        draw_uniforms(scratch, position + (uint64_t)i * draws + (uint64_t)V, H);
        rbm_sigmoid_bernoulli(h0 + i * H, scratch->hidden_work + i * H, params->hidden_bias,
                              scratch->uniform, 1.0f, (size_t)H);
    }
    /* vnp = sigmoid(h0 W + vb); vn ~ Bernoulli(vnp), stored negated for the update's sgemm */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)V, (int)H, 1.0f, h0,
                (int)H, params->weights, (int)V, 0.0f, scratch->visible_work, (int)V);
    double squared_error = 0;
    memset(visible_delta, 0, (size_t)V * sizeof(float));
    for (int64_t i = 0; i < rows; i++) {
        float *vnp = scratch->visible_work + i * V;
        const float *v0p = scratch->visible_probability + i * V;
        rbm_sigmoid_bias(vnp, vnp, params->visible_bias, (size_t)V);
        float row_error = 0;
        for (int64_t j = 0; j < V; j++) {
            float difference = v0p[j] - vnp[j];
            visible_delta[j] += difference;
            row_error += difference * difference;
        }
        squared_error += row_error;
        draw_uniforms(scratch, position + (uint64_t)i * draws + (uint64_t)(V + H), V);
        for (int64_t j = 0; j < V; j++)
            negative_vn[i * V + j] = scratch->uniform[j] < vnp[j] ? -1.0f : 0.0f;
    }
    /* hnp = sigmoid(vn W^T + hb): alpha = -1 undoes the stored sign exactly */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)H, (int)V, -1.0f,
                negative_vn, (int)V, params->weights, (int)V, 0.0f, scratch->hidden_work, (int)H);
    memset(hidden_delta, 0, (size_t)H * sizeof(float));
    for (int64_t i = 0; i < rows; i++) {
        rbm_sigmoid_bias(hnp + i * H, scratch->hidden_work + i * H, params->hidden_bias,
                         (size_t)H);
        for (int64_t j = 0; j < H; j++)
            hidden_delta[j] += h0[i * H + j] - hnp[i * H + j];
    }
    batch->chunk_squared_error[chunk] = squared_error;
}

/* velocity = momentum * velocity + delta; param += learning_rate * velocity */
static void momentum_step(float *param, float *velocity, const float *delta_sum, float scale,
                          const UpdateRule *rule, int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        velocity[j] = rule->momentum * velocity[j] + delta_sum[j] * scale;
        param[j] += rule->learning_rate * velocity[j];
    }
}

void rbm_cd_update_strip(Parameters *params, Parameters *velocity, const BatchBuffers *batch,
                         const Shape *shape, const UpdateRule *rule, int64_t strip)
{
    const int64_t V = shape->visible, H = shape->hidden, B = batch->rows;
    const int64_t column = V * strip / shape->strips;
    const int64_t columns = V * (strip + 1) / shape->strips - column;
    const float inverse_rows = 1.0f / (float)B;
    const int64_t chunks = rbm_chunk_count(shape, B);
    /* velocity_W = momentum * velocity_W + [h0; hnp]^T [v0; -vn] / B: one sgemm, K = 2B */
    float *velocity_w = velocity->weights + column;
    float *weights = params->weights + column;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)H, (int)columns, (int)(2 * B),
                inverse_rows, batch->hidden_stats, (int)H, batch->visible_stats + column, (int)V,
                rule->momentum, velocity_w, (int)V);
    for (int64_t i = 0; i < H; i++) {
        float *velocity_row = velocity_w + i * V;
        float *weight_row = weights + i * V;
        if (rule->weight_decay != 0.0f)
            for (int64_t j = 0; j < columns; j++)
                velocity_row[j] -= rule->weight_decay * weight_row[j];
        for (int64_t j = 0; j < columns; j++)
            weight_row[j] += rule->learning_rate * velocity_row[j];
    }
    /* Biases: the per-chunk sums, added in chunk order. */
    float sum[256];
    for (int64_t start = column; start < column + columns; start += 256) {
        int64_t n = column + columns - start < 256 ? column + columns - start : 256;
        memset(sum, 0, sizeof sum);
        for (int64_t c = 0; c < chunks; c++)
            for (int64_t j = 0; j < n; j++)
                sum[j] += batch->chunk_visible_delta[c * V + start + j];
        momentum_step(params->visible_bias + start, velocity->visible_bias + start, sum,
                      inverse_rows, rule, n);
    }
    const int64_t hidden_first = H * strip / shape->strips;
    const int64_t hidden_end = H * (strip + 1) / shape->strips;
    for (int64_t start = hidden_first; start < hidden_end; start += 256) {
        int64_t n = hidden_end - start < 256 ? hidden_end - start : 256;
        memset(sum, 0, sizeof sum);
        for (int64_t c = 0; c < chunks; c++)
            for (int64_t j = 0; j < n; j++)
                sum[j] += batch->chunk_hidden_delta[c * H + start + j];
        momentum_step(params->hidden_bias + start, velocity->hidden_bias + start, sum,
                      inverse_rows, rule, n);
    }
}
