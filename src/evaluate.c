#include "evaluate.h"

#include <cblas.h>
#include <math.h>

#include "data/dataset.h"
#include "kernels.h"
#include "pcg32.h"

double rbm_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

void rbm_evaluate_chunk(EvaluationSums *out, const Parameters *params, const RbmDataset *data,
                        int64_t first, int64_t rows, int64_t hidden, const EvaluationScratch *scratch,
                        uint64_t seed, bool binarize)
{
    const int64_t V = data->columns, H = hidden;
    float *v = scratch->visible, *vp = scratch->reconstruct, *a = scratch->hidden;
    for (int64_t i = 0; i < rows; i++) {
        rbm_dataset_row(data, first + i, v + i * V);
        if (binarize)
            for (int64_t j = 0; j < V; j++)
                v[i * V + j] = v[i * V + j] >= 0.5f ? 1.0f : 0.0f;
    }
    /* a = v W^T + hb */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)H, (int)V, 1.0f, v,
                (int)V, params->weights, (int)V, 0.0f, a, (int)H);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t h = 0; h < H; h++)
            a[i * H + h] += params->hidden_bias[h];

    EvaluationSums sums = {0, 0, 0};
    Pcg32 rng;
    pcg32_seed(&rng, seed, PSEUDO_LIKELIHOOD_STREAM);
    pcg32_advance(&rng, (uint64_t)first);
    for (int64_t i = 0; i < rows; i++) {
        const float *vi = v + i * V, *ai = a + i * H;
        double visible_term = 0, hidden_term = 0;
        for (int64_t j = 0; j < V; j++)
            visible_term += (double)vi[j] * params->visible_bias[j];
        for (int64_t h = 0; h < H; h++)
            hidden_term += rbm_softplus(ai[h]);
        double free_energy = -visible_term - hidden_term;
        /* the same row flips the same unit every time it is scored */
        int64_t flip = (int64_t)(((uint64_t)pcg32_next(&rng) * (uint64_t)V) >> 32);
        double change = 1.0 - 2.0 * vi[flip];
        double flipped_hidden = 0;
        for (int64_t h = 0; h < H; h++)
            flipped_hidden += rbm_softplus(ai[h] + change * params->weights[h * V + flip]);
        double flipped = -(visible_term + change * params->visible_bias[flip]) - flipped_hidden;
        sums.free_energy += free_energy;
        sums.pseudo_likelihood += -(double)V * rbm_softplus(free_energy - flipped);
    }

    /* vp = sigmoid(sigmoid(a) W + vb) */
    for (int64_t i = 0; i < rows * H; i++)
        a[i] = rbm_sigmoid_scalar(a[i]);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)V, (int)H, 1.0f, a,
                (int)H, params->weights, (int)V, 0.0f, vp, (int)V);
    for (int64_t i = 0; i < rows; i++) {
        rbm_sigmoid_bias(vp + i * V, vp + i * V, params->visible_bias, (size_t)V);
        for (int64_t j = 0; j < V; j++) {
            double d = (double)v[i * V + j] - vp[i * V + j];
            sums.squared_error += d * d;
        }
    }
    *out = sums;
}
