/*
 * An experiment, not the trainer: CD-1 with W split by hidden units (model-parallel) instead of
 * the trainer's split of each batch by rows (data-parallel), to measure what the other split
 * gains where the cores share data slowly (BENCHMARKS.md, "Session 4").
 *
 * The trainer's workers each sample a chunk of the batch's rows, reading all of W, then update
 * a strip of W: each batch half of W and half of the samples cross between the cores. Here
 * worker s owns hidden units [s H/S, (s+1) H/S) of W for the whole run, so W never moves:
 *   A  rows split:     v0 ~ Bernoulli(v0p)                                  barrier
 *   B  strip s:        h0_s ~ sigmoid(v0 W_s^T + hb_s); partial_s = h0_s W_s barrier
 *   C  columns split:  vnp = sigmoid(sum_s partial_s + vb) in strip order; vn ~ Bernoulli(vnp);
 *                      dvb and the visible-bias step for those columns        barrier
 *   D  strip s:        hnp_s = sigmoid(vn W_s^T + hb_s); velocity_s and W_s, hb_s updates
 * (v0 and vn are double-buffered by batch parity, so D needs no barrier before the next A.)
 * What crosses: v0, the partial products and vn, about 470 KB per worker per batch at 784 x 300,
 * against about 750 KB for the trainer. The units (S strips) never follow the thread count.
 * No options (CD-1, no weight decay, no monitors); the random draws differ from the trainer's.
 *
 *   bench_model_parallel [HIDDEN [THREADS [EPOCHS [STRIPS]]]]   (defaults 300 2 3 2)
 * on the first 42,000 Fashion-MNIST images, batch 100; prints each epoch's seconds.
 */
#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "kernels.h"
#include "pcg32.h"

enum { BATCH = 100 };

typedef struct Generator {
    Pcg32 rng;
    uint64_t position;
    float *uniform;
} Generator;

/* out[j] = sign * Bernoulli(probability[j]) for n units whose draws start at `index`. */
static void sample_at(float *out, const float *probability, int64_t n, Generator *g,
                      uint64_t index, float sign)
{
    if (index != g->position)
        pcg32_advance(&g->rng, index - g->position);
    pcg32_fill_uniform(&g->rng, g->uniform, (size_t)n);
    g->position = index + (uint64_t)n;
    rbm_bernoulli_signed(out, probability, g->uniform, sign, (size_t)n);
}

static float *floats(size_t n)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "bench_model_parallel: out of memory\n");
        exit(1);
    }
    memset(p, 0, n * sizeof(float));
    return p;
}

int main(int argc, char **argv)
{
    const int64_t H = argc > 1 ? atoll(argv[1]) : 300;
    const int threads = argc > 2 ? atoi(argv[2]) : 2;
    const int epochs = argc > 3 ? atoi(argv[3]) : 3;
    const int64_t S = argc > 4 ? atoll(argv[4]) : 2;
    RbmError error = {{0}};
    RbmDataset *data = NULL;
    /* rbm_check_blas also links in src/blas.c, whose lock keeps concurrent sgemm calls from
     * sharing a packing buffer */
    if (H < 1 || threads < 1 || epochs < 1 || S < 1 || H % S || rbm_check_blas(&error) < 0 ||
        rbm_dataset_load(&data, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
                         RBM_FORMAT_AUTO, 0, 42000, &error) < 0 || !data->bytes) {
        fprintf(stderr, "bench_model_parallel: %s\n",
                error.message[0] ? error.message : "bad arguments (STRIPS must divide HIDDEN)");
        return 2;
    }
    const int64_t V = data->columns, N = data->rows, Hs = H / S, batches = N / BATCH;
    const float rate = 0.1f, momentum = 0.9f, inverse = 1.0f / BATCH;
    float *W = floats((size_t)(H * V)), *velocity_W = floats((size_t)(H * V));
    float *hb = floats((size_t)H), *velocity_hb = floats((size_t)H);
    float *vb = floats((size_t)V), *velocity_vb = floats((size_t)V);
    float *visible[2] = {floats((size_t)(2 * BATCH * V)), floats((size_t)(2 * BATCH * V))};
    float **hidden = malloc((size_t)S * sizeof *hidden);
    float **partial = malloc((size_t)S * sizeof *partial);
    for (int64_t s = 0; s < S; s++) {
        hidden[s] = floats((size_t)(2 * BATCH * Hs)); /* h0_s rows, then hnp_s rows */
        partial[s] = floats((size_t)(BATCH * V));
    }
    Pcg32 init;
    pcg32_seed(&init, 1, 99);
    for (int64_t i = 0; i < H * V; i++) /* small uniform weights: the timing does not care */
        W[i] = (pcg32_uniform_reference(&init) - 0.5f) * 0.02f;
    double *epoch_seconds = calloc((size_t)epochs, sizeof(double));

#pragma omp parallel num_threads(threads)
    {
        const int worker = omp_get_thread_num(), workers = omp_get_num_threads();
        Generator g = {.uniform = floats((size_t)V)};
        pcg32_seed(&g.rng, 1, 7);
        float *v0p = floats((size_t)V), *vnp = floats((size_t)V), *sum = floats((size_t)V);
        float *pre = floats((size_t)(BATCH * Hs)), *delta = floats((size_t)V);
        float *hidden_delta = floats((size_t)Hs);
        const int64_t first_row = BATCH * worker / workers;
        const int64_t end_row = BATCH * (worker + 1) / workers;
        const int64_t c0 = V * worker / workers, c1 = V * (worker + 1) / workers, width = c1 - c0;
        const uint64_t draws = (uint64_t)(2 * V + H);
        for (int epoch = 0; epoch < epochs; epoch++) {
            double start = omp_get_wtime();
            for (int64_t b = 0; b < batches; b++) {
                float *vis = visible[b & 1];
                const uint64_t base =
                    ((uint64_t)epoch * (uint64_t)N + (uint64_t)(b * BATCH)) * draws;
                /* A: v0 for my rows */
                for (int64_t i = first_row; i < end_row; i++) {
                    rbm_bytes_to_probability(v0p, data->bytes + (b * BATCH + i) * V, 255.0f,
                                             (size_t)V);
                    sample_at(vis + i * V, v0p, V, &g, base + (uint64_t)i * draws, 1.0f);
                }
#pragma omp barrier
                /* B: my strips' h0 and partial reconstructions */
                for (int64_t s = worker; s < S; s += workers) {
                    const float *Ws = W + s * Hs * V;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, (int)Hs, (int)V,
                                1.0f, vis, (int)V, Ws, (int)V, 0.0f, pre, (int)Hs);
                    for (int64_t i = 0; i < BATCH; i++) {
                        rbm_sigmoid_bias(pre + i * Hs, pre + i * Hs, hb + s * Hs, (size_t)Hs);
                        sample_at(hidden[s] + i * Hs, pre + i * Hs, Hs, &g,
                                  base + (uint64_t)i * draws + (uint64_t)(V + s * Hs), 1.0f);
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BATCH, (int)V, (int)Hs,
                                1.0f, hidden[s], (int)Hs, Ws, (int)V, 0.0f, partial[s], (int)V);
                }
#pragma omp barrier
                /* C: my columns of vnp and -vn, and the visible-bias step */
                memset(delta, 0, (size_t)width * sizeof(float));
                for (int64_t i = 0; i < BATCH; i++) {
                    memcpy(sum, partial[0] + i * V + c0, (size_t)width * sizeof(float));
                    for (int64_t s = 1; s < S; s++)
                        for (int64_t j = 0; j < width; j++)
                            sum[j] += partial[s][i * V + c0 + j];
                    rbm_sigmoid_bias(vnp, sum, vb + c0, (size_t)width);
                    sample_at(vis + (BATCH + i) * V + c0, vnp, width, &g,
                              base + (uint64_t)i * draws + (uint64_t)(V + H + c0), -1.0f);
                    rbm_bytes_to_probability(v0p, data->bytes + (b * BATCH + i) * V + c0, 255.0f,
                                             (size_t)width);
                    for (int64_t j = 0; j < width; j++)
                        delta[j] += v0p[j] - vnp[j];
                }
                for (int64_t j = 0; j < width; j++) {
                    velocity_vb[c0 + j] = momentum * velocity_vb[c0 + j] + delta[j] * inverse;
                    vb[c0 + j] += rate * velocity_vb[c0 + j];
                }
#pragma omp barrier
                /* D: my strips' hnp, gradient and updates (W_s stays in this core) */
                for (int64_t s = worker; s < S; s += workers) {
                    float *Ws = W + s * Hs * V, *velocity_s = velocity_W + s * Hs * V;
                    float *h0 = hidden[s], *hnp = hidden[s] + BATCH * Hs;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, (int)Hs, (int)V,
                                -1.0f, vis + BATCH * V, (int)V, Ws, (int)V, 0.0f, pre, (int)Hs);
                    for (int64_t i = 0; i < BATCH; i++)
                        rbm_sigmoid_bias(hnp + i * Hs, pre + i * Hs, hb + s * Hs, (size_t)Hs);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Hs, (int)V, 2 * BATCH,
                                inverse, h0, (int)Hs, vis, (int)V, momentum, velocity_s, (int)V);
                    rbm_weight_step(Ws, velocity_s, rate, 0.0f, false, Hs, V, V);
                    rbm_difference_sums(hidden_delta, h0, hnp, BATCH, Hs);
                    for (int64_t j = 0; j < Hs; j++) {
                        velocity_hb[s * Hs + j] = momentum * velocity_hb[s * Hs + j] +
                                                  hidden_delta[j] * inverse;
                        hb[s * Hs + j] += rate * velocity_hb[s * Hs + j];
                    }
                }
            }
#pragma omp barrier
            if (worker == 0)
                epoch_seconds[epoch] = omp_get_wtime() - start;
        }
        free(g.uniform), free(v0p), free(vnp), free(sum), free(pre), free(delta);
        free(hidden_delta);
    }
    double checksum = 0;
    for (int64_t i = 0; i < H * V; i++)
        checksum += W[i];
    printf("model-parallel CD-1: %lld x %lld -> %lld hidden, batch %d, %lld strips, %d threads\n",
           (long long)N, (long long)V, (long long)H, BATCH, (long long)S, threads);
    for (int epoch = 0; epoch < epochs; epoch++)
        printf("epoch %d  %.3f s\n", epoch + 1, epoch_seconds[epoch]);
    printf("weights sum %.6f\n", checksum);
    return 0;
}
