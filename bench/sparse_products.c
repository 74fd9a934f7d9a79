/* Are CD-1's 0/1 products cheaper as sums of selected rows than as dense sgemm? Measures, on
 * real Fashion-MNIST samples (v0 ~ Bernoulli(pixel / 255)) and a trained-size W, the time of
 * the forward product v0 W^T and the reverse product h0 W as sgemm (the trainer's shapes:
 * 50-row chunks) and as row sums, and how far the results differ.
 *
 * usage: bench_sparse [IDX.gz] [hidden] [repeats]   (prints one line per product) */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"
#include "pcg32.h"
#include "rbm/rbm.h"

/* out[r][n] = sum over j with sample[r][j] != 0 of matrix[j][n] (matrix is K x N) */
static void row_sums(float *out, const float *sample, const float *matrix, int rows, int k, int n)
{
    for (int r = 0; r < rows; r++) {
        float *o = out + (size_t)r * n;
        memset(o, 0, (size_t)n * sizeof *o);
        for (int j = 0; j < k; j++)
            if (sample[(size_t)r * k + j] != 0.0f) {
                const float *m = matrix + (size_t)j * n;
                for (int c = 0; c < n; c++)
                    o[c] += m[c];
            }
    }
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
    const int H = argc > 2 ? atoi(argv[2]) : 300, repeats = argc > 3 ? atoi(argv[3]) : 200;
    const int R = 50, V = 784;
    RbmDataset *data;
    RbmError error;
    if (rbm_dataset_load(&data, path, RBM_FORMAT_AUTO, 0, 1000, &error) != 0) {
        fprintf(stderr, "%s\n", error.message);
        return 2;
    }
    Pcg32 rng;
    pcg32_seed(&rng, 1, 2);
    float *W = malloc(sizeof(float) * H * V), *WT = malloc(sizeof(float) * H * V);
    float *v0 = malloc(sizeof(float) * R * V), *h0 = malloc(sizeof(float) * R * H);
    float *dense = malloc(sizeof(float) * R * (H > V ? H : V));
    float *sparse = malloc(sizeof(float) * R * (H > V ? H : V)), row[784];
    for (int i = 0; i < H * V; i++)
        W[i] = (pcg32_uniform_reference(&rng) - 0.5f) * 0.2f;
    double ones_v = 0, ones_h = 0;
    for (int r = 0; r < R; r++) {
        rbm_dataset_row(data, r, row);
        for (int j = 0; j < V; j++)
            ones_v += v0[r * V + j] = pcg32_uniform_reference(&rng) < row[j];
        for (int k = 0; k < H; k++)
            ones_h += h0[r * H + k] = pcg32_uniform_reference(&rng) < 0.5f;
    }
    double t0 = bench_now();
    for (int i = 0; i < repeats; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, H, V, 1, v0, V, W, V, 0, dense, H);
    double forward_dense = (bench_now() - t0) / repeats;
    t0 = bench_now();
    for (int i = 0; i < repeats; i++) /* W^T has to be rebuilt after every update */
        for (int k = 0; k < H; k++)
            for (int j = 0; j < V; j++)
                WT[j * H + k] = W[k * V + j];
    double transpose = (bench_now() - t0) / repeats;
    t0 = bench_now();
    for (int i = 0; i < repeats; i++)
        row_sums(sparse, v0, WT, R, V, H);
    double forward_sparse = (bench_now() - t0) / repeats;
    double forward_diff = 0;
    for (int i = 0; i < R * H; i++)
        forward_diff = fmax(forward_diff, fabs(dense[i] - sparse[i]));
    t0 = bench_now();
    for (int i = 0; i < repeats; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, V, H, 1, h0, H, W, V, 0, dense, V);
    double reverse_dense = (bench_now() - t0) / repeats;
    t0 = bench_now();
    for (int i = 0; i < repeats; i++)
        row_sums(sparse, h0, W, R, H, V);
    double reverse_sparse = (bench_now() - t0) / repeats;
    double reverse_diff = 0;
    int reverse_same = 1;
    for (int i = 0; i < R * V; i++) {
        reverse_diff = fmax(reverse_diff, fabs(dense[i] - sparse[i]));
        reverse_same &= dense[i] == sparse[i];
    }
    printf("v0 density %.3f, h0 density %.3f (50-row chunks, hidden %d, core %s)\n",
           ones_v / (R * V), ones_h / (R * H), H, rbm_blas_core());
    printf("forward v0 W^T: sgemm %.1f us, row sums %.1f us + W^T rebuild %.1f us per batch; "
           "max difference %.2g\n",
           forward_dense * 1e6, forward_sparse * 1e6, transpose * 1e6, forward_diff);
    printf("reverse h0 W:   sgemm %.1f us, row sums %.1f us; max difference %.2g%s\n",
           reverse_dense * 1e6, reverse_sparse * 1e6, reverse_diff,
           reverse_same ? " (identical)" : " (not byte-identical)");
    rbm_dataset_free(data);
    return 0;
}
