#include "reference_cd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cd.h"
#include "kernels.h"
#include "pcg32.h"

/* Uniform draw number `index` of the run's stream, by a jump from the seed. */
static float draw(uint64_t seed, uint64_t index)
{
    Pcg32 rng;
    pcg32_seed(&rng, seed, RBM_STREAM);
    pcg32_advance(&rng, index);
    return pcg32_uniform_reference(&rng);
}

double reference_train(const ReferenceRun *run, float *W, float *hb, float *vb)
{
    const int64_t V = run->visible, H = run->hidden, N = run->rows;
    const uint64_t draws = 2 * (uint64_t)V + (uint64_t)H;
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
    memset(vb, 0, (size_t)V * sizeof *vb);
    double *dW = calloc((size_t)(H * V), sizeof *dW), *dhb = calloc((size_t)H, sizeof *dhb);
    double *dvb = calloc((size_t)V, sizeof *dvb);
    float *velW = calloc((size_t)(H * V), sizeof *velW), *velh = calloc((size_t)H, sizeof *velh);
    float *velv = calloc((size_t)V, sizeof *velv);
    float *v0 = malloc((size_t)V * sizeof *v0), *h0 = malloc((size_t)H * sizeof *h0);
    float *vnp = malloc((size_t)V * sizeof *vnp), *vn = malloc((size_t)V * sizeof *vn);
    float *hnp = malloc((size_t)H * sizeof *hnp);
    double squared_error = 0;
    for (int64_t epoch = 0; epoch < run->epochs; epoch++) {
        squared_error = 0;
        for (int64_t first = 0; first < N; first += run->batch_size) {
            int64_t B = N - first < run->batch_size ? N - first : run->batch_size;
            memset(dW, 0, (size_t)(H * V) * sizeof *dW);
            memset(dhb, 0, (size_t)H * sizeof *dhb);
            memset(dvb, 0, (size_t)V * sizeof *dvb);
            for (int64_t r = first; r < first + B; r++) {
                const float *v0p = run->data + r * V;
                uint64_t base = ((uint64_t)epoch * (uint64_t)N + (uint64_t)r) * draws;
                for (int64_t j = 0; j < V; j++)
                    v0[j] = draw(run->seed, base + (uint64_t)j) < v0p[j] ? 1.0f : 0.0f;
                for (int64_t k = 0; k < H; k++) {
                    double sum = 0;
                    for (int64_t j = 0; j < V; j++)
                        sum += (double)v0[j] * W[k * V + j];
                    float p = rbm_sigmoid_scalar((float)sum + hb[k]);
                    h0[k] = draw(run->seed, base + (uint64_t)(V + k)) < p ? 1.0f : 0.0f;
                }
                for (int64_t j = 0; j < V; j++) {
                    double sum = 0;
                    for (int64_t k = 0; k < H; k++)
                        sum += (double)h0[k] * W[k * V + j];
                    vnp[j] = rbm_sigmoid_scalar((float)sum + vb[j]);
                    vn[j] = draw(run->seed, base + (uint64_t)(V + H + j)) < vnp[j] ? 1.0f : 0.0f;
                    squared_error += ((double)v0p[j] - vnp[j]) * ((double)v0p[j] - vnp[j]);
                    dvb[j] += (double)v0p[j] - vnp[j];
                }
                for (int64_t k = 0; k < H; k++) {
                    double sum = 0;
                    for (int64_t j = 0; j < V; j++)
                        sum += (double)vn[j] * W[k * V + j];
                    hnp[k] = rbm_sigmoid_scalar((float)sum + hb[k]);
                    dhb[k] += (double)h0[k] - hnp[k];
                    for (int64_t j = 0; j < V; j++)
                        dW[k * V + j] += (double)h0[k] * v0[j] - (double)hnp[k] * vn[j];
                }
            }
            for (int64_t i = 0; i < H * V; i++) {
                double d = dW[i] / (double)B - run->weight_decay * W[i];
                velW[i] = (float)(run->momentum * velW[i] + d);
                W[i] += (float)(run->learning_rate * velW[i]);
            }
            for (int64_t k = 0; k < H; k++) {
                velh[k] = (float)(run->momentum * velh[k] + dhb[k] / (double)B);
                hb[k] += (float)(run->learning_rate * velh[k]);
            }
            for (int64_t j = 0; j < V; j++) {
                velv[j] = (float)(run->momentum * velv[j] + dvb[j] / (double)B);
                vb[j] += (float)(run->learning_rate * velv[j]);
            }
        }
    }
    free(dW), free(dhb), free(dvb), free(velW), free(velh), free(velv);
    free(v0), free(h0), free(vnp), free(vn), free(hnp);
    return squared_error / ((double)N * (double)V);
}
