#include "reference_cd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cd.h"
#include "kernels.h"
#include "pcg32.h"
#include "schedule.h"

/* Uniform draw number `index` of the run's stream, by a jump from the seed. */
static float draw(uint64_t seed, uint64_t index)
{
    Pcg32 rng;
    pcg32_seed(&rng, seed, RBM_STREAM);
    pcg32_advance(&rng, index);
    return pcg32_uniform_reference(&rng);
}

/* out[j] = sigmoid(sum_k hidden[k] W[k][j] + vb[j]) */
static void visible_probabilities(float *out, const float *hidden, const float *W,
                                  const float *vb, int64_t V, int64_t H)
{
    for (int64_t j = 0; j < V; j++) {
        double sum = 0;
        for (int64_t k = 0; k < H; k++)
            sum += (double)hidden[k] * W[k * V + j];
        out[j] = rbm_sigmoid_scalar((float)sum + vb[j]);
    }
}

/* out[k] = sigmoid(sum_j visible[j] W[k][j] + hb[k]) */
static void hidden_probabilities(float *out, const float *visible, const float *W,
                                 const float *hb, int64_t V, int64_t H)
{
    for (int64_t k = 0; k < H; k++) {
        double sum = 0;
        for (int64_t j = 0; j < V; j++)
            sum += (double)visible[j] * W[k * V + j];
        out[k] = rbm_sigmoid_scalar((float)sum + hb[k]);
    }
}

static void sample(float *out, const float *p, int64_t n, uint64_t seed, uint64_t first_draw)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = draw(seed, first_draw + (uint64_t)i) < p[i] ? 1.0f : 0.0f;
}

double reference_train(const ReferenceRun *run, float *W, float *hb, float *vb)
{
    const int64_t V = run->visible, H = run->hidden, N = run->rows;
    const int64_t k_steps = run->cd_steps > 1 ? run->cd_steps : 1;
    /* v0, h0, then per step vn and (but for plain CD's last step) h */
    const uint64_t draws = (uint64_t)(V + H + k_steps * V + (k_steps - 1 + run->persistent) * H);
    /* initial weights: Box-Muller from position 2^63 */
    Pcg32 init;
    pcg32_seed(&init, run->seed, RBM_STREAM);
    pcg32_advance(&init, INIT_DRAW_OFFSET);
    for (int64_t i = 0; i < H * V; i += 2) {
        double u1 = ((double)pcg32_next(&init) + 1.0) * 0x1p-32;
        double u2 = (double)pcg32_next(&init) * 0x1p-32;
        double radius = sqrt(-2.0 * log(u1)) * run->init_std;
        W[i] = (float)(radius * cos(2.0 * M_PI * u2));
        if (i + 1 < H * V)
            W[i + 1] = (float)(radius * sin(2.0 * M_PI * u2));
    }
    memset(hb, 0, (size_t)H * sizeof *hb);
    for (int64_t j = 0; j < V; j++) {
        double mean = 0;
        for (int64_t r = 0; r < N && run->visible_bias_from_data; r++)
            mean += run->data[r * V + j];
        double p = fmin(fmax(mean / (double)N, 0.001), 0.999);
        vb[j] = run->visible_bias_from_data ? (float)log(p / (1.0 - p)) : 0.0f;
    }
    double *dW = calloc((size_t)(H * V), sizeof *dW), *dhb = calloc((size_t)H, sizeof *dhb);
    double *dvb = calloc((size_t)V, sizeof *dvb), *activity = calloc((size_t)H, sizeof *activity);
    float *velW = calloc((size_t)(H * V), sizeof *velW), *velh = calloc((size_t)H, sizeof *velh);
    float *velv = calloc((size_t)V, sizeof *velv);
    float *v0 = malloc((size_t)V * sizeof *v0), *h0 = malloc((size_t)H * sizeof *h0);
    float *h0p = malloc((size_t)H * sizeof *h0p), *h = malloc((size_t)H * sizeof *h);
    float *vnp = malloc((size_t)V * sizeof *vnp), *vn = malloc((size_t)V * sizeof *vn);
    float *hnp = malloc((size_t)H * sizeof *hnp);
    float *chains = calloc((size_t)(run->batch_size * H), sizeof *chains);
    int64_t *order = malloc((size_t)N * sizeof *order);
    double squared_error = 0;
    for (int64_t epoch = 0; epoch < run->epochs; epoch++) {
        double momentum = run->momentum;
        if (run->momentum_switch_epoch > 0)
            momentum = epoch < run->momentum_switch_epoch ? run->momentum_initial
                                                          : run->momentum_final;
        double rate = run->learning_rate / (1.0 + run->learning_rate_decay * (double)epoch);
        for (int64_t i = 0; i < N; i++)
            order[i] = i;
        if (run->shuffle)
            rbm_shuffle_order(order, N, run->seed, epoch);
        squared_error = 0;
        for (int64_t first = 0; first < N; first += run->batch_size) {
            int64_t B = N - first < run->batch_size ? N - first : run->batch_size;
            memset(dW, 0, (size_t)(H * V) * sizeof *dW);
            memset(dhb, 0, (size_t)H * sizeof *dhb);
            memset(dvb, 0, (size_t)V * sizeof *dvb);
            memset(activity, 0, (size_t)H * sizeof *activity);
            for (int64_t r = first; r < first + B; r++) {
                const float *v0p = run->data + order[r] * V;
                uint64_t at = ((uint64_t)epoch * (uint64_t)N + (uint64_t)r) * draws;
                sample(v0, v0p, V, run->seed, at);
                hidden_probabilities(h0p, v0, W, hb, V, H);
                sample(h0, h0p, H, run->seed, at + (uint64_t)V);
                at += (uint64_t)(V + H);
                visible_probabilities(vnp, h0, W, vb, V, H);
                for (int64_t j = 0; j < V; j++)
                    squared_error += ((double)v0p[j] - vnp[j]) * ((double)v0p[j] - vnp[j]);
                /* the negative phase: from h0, or from the row's chain after the first batch */
                float *chain = chains + (r - first) * H;
                memcpy(h, run->persistent && (epoch > 0 || first > 0) ? chain : h0,
                       (size_t)H * sizeof *h);
                for (int64_t step = 1; step <= k_steps; step++) {
                    visible_probabilities(vnp, h, W, vb, V, H);
                    sample(vn, vnp, V, run->seed, at);
                    at += (uint64_t)V;
                    hidden_probabilities(hnp, vn, W, hb, V, H);
                    if (step < k_steps || run->persistent) {
                        sample(h, hnp, H, run->seed, at);
                        at += (uint64_t)H;
                    }
                }
                if (run->persistent)
                    memcpy(chain, h, (size_t)H * sizeof *h);
                for (int64_t j = 0; j < V; j++)
                    dvb[j] += (double)v0p[j] - vnp[j];
                for (int64_t k = 0; k < H; k++) {
                    dhb[k] += (double)h0[k] - hnp[k];
                    activity[k] += h0p[k];
                    for (int64_t j = 0; j < V; j++)
                        dW[k * V + j] += (double)h0[k] * v0[j] - (double)hnp[k] * vn[j];
                }
            }
            for (int64_t i = 0; i < H * V; i++) {
                double d = dW[i] / (double)B - run->weight_decay * W[i];
                velW[i] = (float)(momentum * velW[i] + d);
                W[i] += (float)(rate * velW[i]);
            }
            for (int64_t k = 0; k < H; k++) {
                double sparsity = run->sparsity_cost * (run->sparsity_target * (double)B - activity[k]);
                velh[k] = (float)(momentum * velh[k] + (dhb[k] + sparsity) / (double)B);
                hb[k] += (float)(rate * velh[k]);
            }
            for (int64_t j = 0; j < V; j++) {
                velv[j] = (float)(momentum * velv[j] + dvb[j] / (double)B);
                vb[j] += (float)(rate * velv[j]);
            }
        }
    }
    free(dW), free(dhb), free(dvb), free(activity), free(velW), free(velh), free(velv);
    free(v0), free(h0), free(h0p), free(h), free(vnp), free(vn), free(hnp), free(chains);
    free(order);
    return squared_error / ((double)N * (double)V);
}
