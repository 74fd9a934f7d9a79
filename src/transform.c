/* Using a trained model: hidden probabilities through a stack (rbm transform) and mean-field
 * reconstructions (rbm reconstruct), and the features a stack's next RBM trains on. Rows go in
 * fixed chunks, each one product, so a row's result does not depend on the thread count; in
 * builds with rbm's own products (gemm.h: AVX2 or AVX-512) it does not depend on the CPU either
 * (OpenBLAS, which plain C builds use, picks other kernels, and other last bits, on each CPU:
 * a 784-200-50 stack trained on a Zen 3 and on a Xeon differed, BENCHMARKS.md, "Session 13"). */
#include <cblas.h>
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "error.h"
#include "gemm.h"
#include "kernels.h"
#include "pcg32.h"
#include "memory.h"
#include "rbm/rbm.h"
#include "transform.h"

enum { TRANSFORM_ROWS = 256 };

typedef enum { UP, DOWN } Direction;

/* out[rows][H] = sigmoid(in W^T + hb) (UP), or out[rows][V] = sigmoid(in W + vb) (DOWN), for
 * `in` a data set (UP through the first RBM) or a float matrix. */
static int pass(float **out, const RbmModel *rbm, Direction direction, const RbmDataset *data,
                const float *in, int64_t rows, int threads)
{
    const int64_t V = rbm->visible, H = rbm->hidden;
    const int64_t in_width = direction == UP ? V : H, out_width = direction == UP ? H : V;
    float *result = rbm_malloc((size_t)(rows * out_width) * sizeof(float) + 1);
    /* the right factor: W^T[V][H] (rows transposed_stride apart) up, W[H][V] down */
    const int64_t transposed_stride = rbm_product_stride(H);
    float *transposed =
        direction == UP ? rbm_malloc((size_t)(V * transposed_stride) * sizeof(float)) : NULL;
    if (!result || (direction == UP && !transposed)) {
        free(result);
        free(transposed);
        return -ENOMEM;
    }
    if (transposed)
        rbm_transpose(transposed, transposed_stride, rbm->weights, V, H, V);
    const float *right = direction == UP ? transposed : rbm->weights;
    const int64_t right_stride = direction == UP ? transposed_stride : V;
    const int64_t chunks = (rows + TRANSFORM_ROWS - 1) / TRANSFORM_ROWS;
    int failed = 0;
#pragma omp parallel num_threads(threads)
    {
        float *buffer = data ? rbm_malloc((size_t)(TRANSFORM_ROWS * in_width) * sizeof(float)) : NULL;
        if (data && !buffer) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic)
        for (int64_t chunk = 0; chunk < chunks; chunk++) {
            if (data && !buffer)
                continue;
            const int64_t first = chunk * TRANSFORM_ROWS;
            const int64_t count = rows - first < TRANSFORM_ROWS ? rows - first : TRANSFORM_ROWS;
            const float *input = in + first * in_width;
            if (data) {
                for (int64_t i = 0; i < count; i++)
                    rbm_dataset_row(data, first + i, buffer + i * in_width);
                input = buffer;
            }
            float *output = result + first * out_width;
            rbm_product_nn(output, out_width, 1.0f, input, in_width, right, right_stride, count,
                           out_width, in_width);
            const float *bias = direction == UP ? rbm->hidden_bias : rbm->visible_bias;
            for (int64_t i = 0; i < count; i++)
                rbm_sigmoid_bias(output + i * out_width, output + i * out_width, bias,
                                 (size_t)out_width);
        }
        free(buffer);
    }
    free(transposed);
    if (failed) {
        free(result);
        return -ENOMEM;
    }
    *out = result;
    return 0;
}

static int check_columns(const RbmModel *model, const RbmDataset *data, RbmError *error)
{
    if (data->columns != model->visible)
        return rbm_fail(error, -EINVAL, "%s: %lld columns, but the model has %lld visible units",
                        data->path, (long long)data->columns, (long long)model->visible);
    return 0;
}

int rbm_model_transform(const RbmModel *model, const RbmDataset *data, int threads, float **out,
                        RbmError *error)
{
    *out = NULL;
    int result = check_columns(model, data, error);
    if (result < 0)
        return result;
    if (threads <= 0)
        threads = rbm_default_threads();
    float *current = NULL;
    for (const RbmModel *rbm = model; rbm; rbm = rbm->next) {
        float *next = NULL;
        result = pass(&next, rbm, UP, rbm == model ? data : NULL, current, data->rows, threads);
        free(current);
        if (result < 0)
            return rbm_fail(error, result, "out of memory for %lld x %lld features",
                            (long long)data->rows, (long long)rbm->hidden);
        current = next;
    }
    *out = current;
    return 0;
}

/* *values = rows of the visible units of RBM `count` (1-based, counted up the stack), passed
 * down, mean-field, through RBMs count, count - 1, ..., 1. On failure *values is freed. */
static int down_the_stack(float **values, const RbmModel *model, int64_t count, int64_t rows,
                          int threads)
{
    const RbmModel *stack[RBM_MAX_LAYERS];
    int64_t layers = 0;
    for (const RbmModel *rbm = model; rbm && layers < count; rbm = rbm->next)
        stack[layers++] = rbm;
    for (int64_t l = layers - 1; l >= 0; l--) {
        float *next = NULL;
        int result = pass(&next, stack[l], DOWN, NULL, *values, rows, threads);
        free(*values);
        *values = next;
        if (result < 0)
            return result;
    }
    return 0;
}

int rbm_model_reconstruct(const RbmModel *model, const RbmDataset *data, int threads, float **out,
                          RbmError *error)
{
    *out = NULL;
    float *current = NULL;
    int result = rbm_model_transform(model, data, threads, &current, error);
    if (result < 0)
        return result;
    if (threads <= 0)
        threads = rbm_default_threads();
    /* back down, top RBM first */
    if (down_the_stack(&current, model, rbm_model_layers(model), data->rows, threads) < 0)
        return rbm_fail(error, -ENOMEM, "out of memory for %lld reconstructions",
                        (long long)data->rows);
    *out = current;
    return 0;
}

/* For the trainer: the data set of rows' hidden probabilities under one RBM (a stack's next
 * layer trains on it). */
int rbm_layer_features(RbmDataset **out, const RbmModel *rbm, const RbmDataset *data, int threads,
                       RbmError *error)
{
    *out = NULL;
    float *features = NULL;
    int result = pass(&features, rbm, UP, data, NULL, data->rows, threads);
    if (result == 0 && (result = rbm_dataset_from_values(out, features, data->rows, rbm->hidden,
                                                         data->path)) < 0)
        free(features);
    if (result < 0)
        return rbm_fail(error, result, "out of memory for %lld x %lld features",
                        (long long)data->rows, (long long)rbm->hidden);
    return 0;
}

#define SAMPLE_STREAM 0x5341u /* "SA": chain c draws from stream SAMPLE_STREAM + (c << 16) */

/* One chain of the top RBM: `steps` Gibbs steps; leaves the visible probabilities in out[V]. */
static void gibbs_chain(float *out, const RbmModel *top, int64_t steps, uint64_t seed,
                        int64_t chain, float *v, float *h)
{
    const int64_t V = top->visible, H = top->hidden;
    Pcg32 rng;
    pcg32_seed(&rng, seed, SAMPLE_STREAM + ((uint64_t)chain << 16));
    for (int64_t j = 0; j < V; j++)
        v[j] = pcg32_uniform_reference(&rng) < rbm_sigmoid_scalar(top->visible_bias[j]) ? 1.0f : 0.0f;
    for (int64_t step = 0; step < steps; step++) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)H, (int)V, 1.0f, top->weights, (int)V, v, 1,
                    0.0f, h, 1);
        for (int64_t k = 0; k < H; k++)
            h[k] = pcg32_uniform_reference(&rng) < rbm_sigmoid_scalar(h[k] + top->hidden_bias[k]) ? 1.0f : 0.0f;
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)H, (int)V, 1.0f, top->weights, (int)V, h, 1,
                    0.0f, out, 1);
        rbm_sigmoid_bias(out, out, top->visible_bias, (size_t)V);
        if (step + 1 < steps)
            for (int64_t j = 0; j < V; j++)
                v[j] = pcg32_uniform_reference(&rng) < out[j] ? 1.0f : 0.0f;
    }
    if (steps == 0)
        for (int64_t j = 0; j < V; j++)
            out[j] = rbm_sigmoid_scalar(top->visible_bias[j]);
}

int rbm_model_sample(const RbmModel *model, int64_t n, int64_t steps, uint64_t seed, int threads,
                     float **out, RbmError *error)
{
    *out = NULL;
    if (n < 1 || steps < 0)
        return rbm_fail(error, -EINVAL, "sampling needs at least 1 chain and 0 or more steps");
    if (threads <= 0)
        threads = rbm_default_threads();
    const RbmModel *top = model;
    while (top->next)
        top = top->next;
    float *current = rbm_malloc((size_t)(n * top->visible) * sizeof(float));
    if (!current)
        return rbm_fail(error, -ENOMEM, "out of memory for %lld samples", (long long)n);
    int failed = 0;
#pragma omp parallel num_threads(threads)
    {
        float *v = rbm_malloc((size_t)top->visible * sizeof(float));
        float *h = rbm_malloc((size_t)top->hidden * sizeof(float));
        if (!v || !h) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic)
        for (int64_t chain = 0; chain < n; chain++)
            if (v && h)
                gibbs_chain(current + chain * top->visible, top, steps, seed, chain, v, h);
        free(v);
        free(h);
    }
    if (!failed && down_the_stack(&current, model, rbm_model_layers(model) - 1, n, threads) < 0)
        failed = 1;
    if (failed) {
        free(current);
        return rbm_fail(error, -ENOMEM, "out of memory for %lld samples", (long long)n);
    }
    *out = current;
    return 0;
}
