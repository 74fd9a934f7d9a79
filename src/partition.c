#include "partition.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "evaluate.h"
#include "kernels.h"
#include "memory.h"
#include "pcg32.h"

void rbm_default_ais_settings(RbmAisSettings *ais)
{
    *ais = (RbmAisSettings){100, 14500, 1, 0};
}

static double log_add(double a, double b)
{
    if (a == -INFINITY)
        return b;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* Enumerates the 2^n states s of one layer (n <= 30) in Gray-code order, keeping
 * input[j] = bias_other[j] + sum over units k on of weight(k, j), and returns
 * log sum_s exp(bias.s + sum_j softplus(input[j])). */
static double log_z_enumerate(int64_t n, int64_t m, const float *bias, const float *bias_other,
                              const float *weights, int64_t weight_row, int64_t weight_column)
{
    double *input = malloc((size_t)m * sizeof *input);
    if (!input)
        return NAN;
    for (int64_t j = 0; j < m; j++)
        input[j] = bias_other[j];
    double linear = 0, total = -INFINITY;
    uint64_t state = 0;
    for (uint64_t step = 0; step < ((uint64_t)1 << n); step++) {
        if (step > 0) { /* flip the unit of the lowest set bit of step */
            int64_t k = __builtin_ctzll(step);
            double sign = (state >> k) & 1 ? -1.0 : 1.0;
            state ^= (uint64_t)1 << k;
            linear += sign * bias[k];
            for (int64_t j = 0; j < m; j++)
                input[j] += sign * weights[k * weight_row + j * weight_column];
        }
        double term = linear;
        for (int64_t j = 0; j < m; j++)
            term += rbm_softplus(input[j]);
        total = log_add(total, term);
    }
    free(input);
    return total;
}

double rbm_log_z_by_hidden(const RbmModel *model)
{
    return log_z_enumerate(model->hidden, model->visible, model->hidden_bias, model->visible_bias,
                           model->weights, model->visible, 1);
}

double rbm_log_z_by_visible(const RbmModel *model)
{
    return log_z_enumerate(model->visible, model->hidden, model->visible_bias, model->hidden_bias,
                           model->weights, 1, model->visible);
}

enum { AIS_GROUP = 10 }; /* runs annealed together, one sgemm per step */

/* The inverse temperatures: 0 to 0.5, 0.9 and 1 in steps shared 500 : 4000 : 10000. */
static double beta_at(int64_t k, int64_t temperatures)
{
    int64_t n1 = temperatures * 500 / 14500, n2 = temperatures * 4000 / 14500;
    if (n1 < 1)
        n1 = 1;
    if (n2 < 1)
        n2 = 1;
    int64_t n3 = temperatures - n1 - n2;
    if (n3 < 1)
        return k >= temperatures ? 1.0 : (double)k / (double)temperatures;
    if (k <= n1)
        return 0.5 * (double)k / (double)n1;
    if (k <= n1 + n2)
        return 0.5 + 0.4 * (double)(k - n1) / (double)n2;
    return 0.9 + 0.1 * (double)(k - n1 - n2) / (double)n3;
}

/* log p*_beta(v) for each run of the group, from a = v W^T + hb. */
static void log_unnormalised(double *out, const float *v, const float *a, const RbmModel *model,
                             const float *base_bias, double beta, int64_t runs)
{
    const int64_t V = model->visible, H = model->hidden;
    for (int64_t r = 0; r < runs; r++) {
        double value = 0;
        for (int64_t j = 0; j < V; j++)
            value += (double)v[r * V + j] * ((1.0 - beta) * base_bias[j] + beta * model->visible_bias[j]);
        for (int64_t h = 0; h < H; h++)
            value += rbm_softplus(beta * a[r * H + h]);
        out[r] = value;
    }
}

/* One group of runs: log importance weights into log_w[runs]. */
static int ais_group(double *log_w, const RbmModel *model, const float *base_bias,
                     const RbmAisSettings *ais, int64_t first_run, int64_t runs)
{
    const int64_t V = model->visible, H = model->hidden;
    float *v = rbm_malloc((size_t)(runs * V) * sizeof(float));
    float *a = rbm_malloc((size_t)(runs * H) * sizeof(float));
    float *x = rbm_malloc((size_t)(runs * V) * sizeof(float));
    Pcg32 *rng = rbm_malloc((size_t)runs * sizeof *rng);
    double *now = rbm_malloc((size_t)runs * sizeof *now), *before = rbm_malloc((size_t)runs * sizeof *before);
    int result = v && a && x && rng && now && before ? 0 : -ENOMEM;
    for (int64_t r = 0; r < runs && result == 0; r++) {
        pcg32_seed(&rng[r], ais->seed, AIS_STREAM + ((uint64_t)(first_run + r) << 16));
        log_w[r] = 0;
        for (int64_t j = 0; j < V; j++) /* v ~ the base-rate model */
            v[r * V + j] = pcg32_uniform_reference(&rng[r]) < rbm_sigmoid_scalar(base_bias[j]) ? 1.0f : 0.0f;
    }
    for (int64_t k = 1; k <= ais->temperatures && result == 0; k++) {
        const double beta_before = beta_at(k - 1, ais->temperatures);
        const double beta = beta_at(k, ais->temperatures);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)runs, (int)H, (int)V, 1.0f, v,
                    (int)V, model->weights, (int)V, 0.0f, a, (int)H);
        for (int64_t r = 0; r < runs; r++)
            for (int64_t h = 0; h < H; h++)
                a[r * H + h] += model->hidden_bias[h];
        log_unnormalised(before, v, a, model, base_bias, beta_before, runs);
        log_unnormalised(now, v, a, model, base_bias, beta, runs);
        for (int64_t r = 0; r < runs; r++)
            log_w[r] += now[r] - before[r];
        if (k == ais->temperatures)
            break;
        /* a transition that leaves p_beta invariant: h ~ p(h | v), v ~ p(v | h) */
        for (int64_t r = 0; r < runs; r++)
            for (int64_t h = 0; h < H; h++)
                a[r * H + h] = pcg32_uniform_reference(&rng[r]) <
                                       rbm_sigmoid_scalar((float)(beta * a[r * H + h]))
                                   ? 1.0f
                                   : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)runs, (int)V, (int)H, 1.0f, a,
                    (int)H, model->weights, (int)V, 0.0f, x, (int)V);
        for (int64_t r = 0; r < runs; r++)
            for (int64_t j = 0; j < V; j++) {
                double input = (1.0 - beta) * base_bias[j] +
                               beta * ((double)x[r * V + j] + model->visible_bias[j]);
                v[r * V + j] = pcg32_uniform_reference(&rng[r]) < rbm_sigmoid_scalar((float)input)
                                   ? 1.0f
                                   : 0.0f;
            }
    }
    free(v), free(a), free(x), free(rng), free(now), free(before);
    return result;
}

int rbm_log_z_ais(const RbmModel *model, const float *base_bias, const RbmAisSettings *ais,
                  double *log_z, double *log_z_stderr, RbmError *error)
{
    if (ais->runs < 2 || ais->temperatures < 3)
        return rbm_fail(error, -EINVAL, "AIS needs at least 2 runs and 3 temperatures (%lld, %lld)",
                        (long long)ais->runs, (long long)ais->temperatures);
    double *log_w = rbm_malloc((size_t)ais->runs * sizeof *log_w);
    if (!log_w)
        return rbm_fail(error, -ENOMEM, "out of memory");
    const int64_t groups = (ais->runs + AIS_GROUP - 1) / AIS_GROUP;
    int failed = 0;
    const int threads = ais->threads > 0 ? ais->threads : rbm_default_threads();
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (int64_t g = 0; g < groups; g++) {
        int64_t first = g * AIS_GROUP;
        int64_t runs = ais->runs - first < AIS_GROUP ? ais->runs - first : AIS_GROUP;
        if (ais_group(log_w + first, model, base_bias, ais, first, runs) < 0) {
#pragma omp atomic write
            failed = 1;
        }
    }
    if (failed) {
        free(log_w);
        return rbm_fail(error, -ENOMEM, "out of memory");
    }
    /* log Z at beta = 0: the base-rate model's independent visible units, times 2^H for the
     * model's hidden units, whose inputs beta * a are all 0 there */
    double log_z_base = (double)model->hidden * log(2.0);
    for (int64_t j = 0; j < model->visible; j++)
        log_z_base += rbm_softplus(base_bias[j]);
    double largest = -INFINITY;
    for (int64_t r = 0; r < ais->runs; r++)
        largest = fmax(largest, log_w[r]);
    double mean = 0, square = 0;
    for (int64_t r = 0; r < ais->runs; r++) {
        double w = exp(log_w[r] - largest);
        mean += w;
        square += w * w;
    }
    const double n = (double)ais->runs;
    mean /= n;
    double variance = fmax(square / n - mean * mean, 0.0) * n / (n - 1.0);
    *log_z = log_z_base + largest + log(mean);
    *log_z_stderr = sqrt(variance / n) / mean; /* delta method: sd of log(mean w) */
    free(log_w);
    return 0;
}

int rbm_model_evaluate(const RbmModel *model, const RbmDataset *data, const RbmAisSettings *ais,
                       RbmEvaluation *out, RbmError *error)
{
    RbmAisSettings defaults;
    rbm_default_ais_settings(&defaults);
    if (!ais)
        ais = &defaults;
    if (data->columns != model->visible)
        return rbm_fail(error, -EINVAL, "%s: %lld columns, but the model has %lld visible units",
                        data->path, (long long)data->columns, (long long)model->visible);
    const int64_t V = model->visible, H = model->hidden, N = data->rows;
    memset(out, 0, sizeof *out);
    /* the rows: binary as they are, or thresholded for the probability measures */
    float *row = rbm_malloc((size_t)V * sizeof *row);
    double *means = rbm_calloc((size_t)V, sizeof *means);
    if (!row || !means) {
        free(row), free(means);
        return rbm_fail(error, -ENOMEM, "out of memory");
    }
    for (int64_t i = 0; i < N; i++) {
        rbm_dataset_row(data, i, row);
        for (int64_t j = 0; j < V; j++) {
            out->binarized |= row[j] != 0.0f && row[j] != 1.0f;
            means[j] += row[j];
        }
    }
    float *base_bias = (float *)row; /* reused: the base-rate model's visible biases */
    for (int64_t j = 0; j < V; j++) {
        double p = fmin(fmax(means[j] / (double)N, 0.001), 0.999);
        base_bias[j] = (float)log(p / (1.0 - p));
    }
    free(means);
    /* reconstruction error on the rows as they are; the rest on binary rows */
    Parameters params = {model->weights, model->hidden_bias, model->visible_bias};
    enum { ROWS = 256 };
    float *visible = rbm_malloc((size_t)(ROWS * V) * sizeof(float));
    float *reconstruct = rbm_malloc((size_t)(ROWS * V) * sizeof(float));
    float *hidden = rbm_malloc((size_t)(ROWS * H) * sizeof(float));
    int result = visible && reconstruct && hidden ? 0 : -ENOMEM;
    EvaluationScratch scratch = {visible, reconstruct, hidden};
    EvaluationSums raw = {0, 0, 0}, binary = {0, 0, 0};
    for (int64_t first = 0; first < N && result == 0; first += ROWS) {
        int64_t rows = N - first < ROWS ? N - first : ROWS;
        EvaluationSums part;
        rbm_evaluate_chunk(&part, &params, data, first, rows, H, &scratch, ais->seed, false);
        rbm_evaluation_add(&raw, &part);
        if (out->binarized) {
            rbm_evaluate_chunk(&part, &params, data, first, rows, H, &scratch, ais->seed, true);
            rbm_evaluation_add(&binary, &part);
        }
    }
    free(visible), free(reconstruct), free(hidden);
    if (result < 0) {
        free(row);
        return rbm_fail(error, -ENOMEM, "out of memory");
    }
    if (!out->binarized)
        binary = raw;
    out->recon_error = raw.squared_error / ((double)N * (double)V);
    out->free_energy = binary.free_energy / (double)N;
    out->pseudo_likelihood = binary.pseudo_likelihood / (double)N;
    if (H <= 20 || V <= 20) {
        out->log_z = H <= V ? rbm_log_z_by_hidden(model) : rbm_log_z_by_visible(model);
        out->log_z_exact = 1;
        if (isnan(out->log_z))
            result = rbm_fail(error, -ENOMEM, "out of memory");
    } else {
        result = rbm_log_z_ais(model, base_bias, ais, &out->log_z, &out->log_z_stderr, error);
    }
    free(row);
    out->avg_log_prob = -out->free_energy - out->log_z;
    return result;
}
