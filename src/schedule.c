#include "schedule.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "memory.h"
#include "pcg32.h"

UpdateRule rbm_rule_for_epoch(const RbmSettings *settings, int64_t epoch)
{
    double momentum = settings->momentum;
    if (settings->momentum_switch_epoch > 0)
        momentum = epoch < settings->momentum_switch_epoch ? settings->momentum_initial
                                                           : settings->momentum_final;
    double rate = settings->learning_rate / (1.0 + settings->learning_rate_decay * (double)epoch);
    return (UpdateRule){(float)rate, (float)momentum, (float)settings->weight_decay,
                        (float)settings->sparsity_target, (float)settings->sparsity_cost};
}

/* A uniform integer in [0, bound), by Lemire's multiply-and-reject (no modulo bias). */
static uint64_t bounded(Pcg32 *rng, uint64_t bound)
{
    if (bound > UINT32_MAX) { /* more than 2^32 rows: two draws; the bias is below 2^-32 */
        uint64_t wide = ((uint64_t)pcg32_next(rng) << 32) | pcg32_next(rng);
        return wide % bound;
    }
    uint32_t range = (uint32_t)bound;
    uint64_t product = (uint64_t)pcg32_next(rng) * range;
    uint32_t low = (uint32_t)product;
    if (low < range) {
        uint32_t threshold = (uint32_t)-range % range;
        while (low < threshold) {
            product = (uint64_t)pcg32_next(rng) * range;
            low = (uint32_t)product;
        }
    }
    return product >> 32;
}

void rbm_shuffle_order(int64_t *order, int64_t n, uint64_t seed, int64_t epoch)
{
    Pcg32 rng;
    pcg32_seed(&rng, seed, SHUFFLE_STREAM);
    pcg32_advance(&rng, (uint64_t)epoch << 40);
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)bounded(&rng, (uint64_t)i + 1);
        int64_t swap = order[i];
        order[i] = order[j];
        order[j] = swap;
    }
}

int rbm_visible_bias_from_data(float *visible_bias, const RbmDataset *data)
{
    const int64_t V = data->columns;
    double *sums = rbm_calloc((size_t)V, sizeof *sums);
    float *row = rbm_malloc((size_t)V * sizeof *row);
    if (!sums || !row) {
        free(sums);
        free(row);
        return -ENOMEM;
    }
    for (int64_t i = 0; i < data->rows; i++) {
        rbm_dataset_row(data, i, row);
        for (int64_t j = 0; j < V; j++)
            sums[j] += row[j];
    }
    for (int64_t j = 0; j < V; j++) {
        double p = sums[j] / (double)data->rows;
        p = p < 0.001 ? 0.001 : p > 0.999 ? 0.999 : p;
        visible_bias[j] = (float)log(p / (1.0 - p));
    }
    free(sums);
    free(row);
    return 0;
}
