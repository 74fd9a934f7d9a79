/* A plain-loop CD-k / PCD trainer (no BLAS, no threads, no chunks) drawing the same random
 * numbers as the library, to check the optimised path against, option by option. */
#ifndef RBM_TESTS_REFERENCE_CD_H
#define RBM_TESTS_REFERENCE_CD_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ReferenceRun {
    int64_t rows, visible, hidden, batch_size, epochs;
    double learning_rate, momentum, weight_decay, init_std;
    uint64_t seed;
    const float *data; /* [rows][visible] probabilities */
    /* the options beyond the write-up (all zero: CD-1 as written) */
    int64_t cd_steps;  /* 0 or 1: CD-1 */
    bool persistent, shuffle, visible_bias_from_data;
    double momentum_initial, momentum_final;
    int64_t momentum_switch_epoch;
    double learning_rate_decay, sparsity_target, sparsity_cost;
} ReferenceRun;

/* Fills weights [hidden][visible], hidden_bias, visible_bias; returns the last epoch's
 * reconstruction error. */
double reference_train(const ReferenceRun *run, float *weights, float *hidden_bias,
                       float *visible_bias);

#endif
