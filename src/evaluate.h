/* Deterministic measures of how well a model fits rows of data, for the per-epoch monitors and
 * for `rbm eval`: no sampling, so they depend only on the parameters and the rows. A caller
 * cuts the rows into fixed chunks (any worker may take any chunk) and adds the chunks' sums in
 * chunk order, so the totals are the same for any thread count. */
#ifndef RBM_EVALUATE_H
#define RBM_EVALUATE_H

#include <stdbool.h>
#include <stdint.h>

#include "cd.h"
#include "rbm/rbm.h"

/* The one random stream of the pseudo-likelihood: row r flips unit floor(draw_r * V / 2^32). */
#define PSEUDO_LIKELIHOOD_STREAM 0x504cu /* "PL" */

typedef struct EvaluationSums {
    double squared_error;     /* sum of (v - vp)^2, vp = sigmoid(sigmoid(v W^T + hb) W + vb) */
    double free_energy;       /* sum of F(v) = -v.vb - sum_h softplus((v W^T + hb)_h) */
    double pseudo_likelihood; /* sum of V * log sigmoid(F(v') - F(v)), v' = v with one unit
                                 flipped (scikit-learn's BernoulliRBM.score_samples) */
} EvaluationSums;

typedef struct EvaluationScratch {
    float *visible;     /* [rows][V] */
    float *reconstruct; /* [rows][V] */
    float *hidden;      /* [rows][H] */
} EvaluationScratch;

/* Sums over rows [first, first + rows) of `data`; scratch holds at least `rows` rows.
 * binarize: v = (probability >= 0.5) instead of the probabilities themselves. */
void rbm_evaluate_chunk(EvaluationSums *out, const Parameters *params, const RbmDataset *data,
                        int64_t first, int64_t rows, int64_t hidden, const EvaluationScratch *scratch,
                        uint64_t seed, bool binarize);

static inline void rbm_evaluation_add(EvaluationSums *total, const EvaluationSums *part)
{
    total->squared_error += part->squared_error;
    total->free_energy += part->free_energy;
    total->pseudo_likelihood += part->pseudo_likelihood;
}

/* log(1 + e^x) without overflow */
double rbm_softplus(double x);

#endif
