/* A plain-loop CD-1 trainer (no BLAS, no threads, no chunks) drawing the same random numbers
 * as the library, to check the optimised path against. */
#ifndef RBM_TESTS_REFERENCE_CD_H
#define RBM_TESTS_REFERENCE_CD_H

#include <stdint.h>

typedef struct ReferenceRun {
    int64_t rows, visible, hidden, batch_size, epochs;
    double learning_rate, momentum, weight_decay, init_std;
    uint64_t seed;
    const float *data; /* [rows][visible] probabilities */
} ReferenceRun;

/* Fills weights [hidden][visible], hidden_bias, visible_bias; returns the last epoch's
 * reconstruction error. */
double reference_train(const ReferenceRun *run, float *weights, float *hidden_bias,
                       float *visible_bias);

#endif
