/* Internal: the trainer of one RBM (src/trainer.c), used by rbm_train for a single RBM and for
 * each layer of a stack (src/stack.c), and by rbm_measure_floor and rbm_measure_own_floor. */
#ifndef RBM_TRAINER_H
#define RBM_TRAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "rbm/rbm.h"

/* Which RBM of a stack a run trains, and on what. */
typedef struct LayerJob {
    int64_t layer, layers;          /* 1-based */
    const RbmDataset *validation;   /* for the monitors, or NULL */
    bool products_only;             /* a floor: the products alone */
    bool own_products;              /* ... as the trainer computes them (gemm.h); else OpenBLAS */
} LayerJob;

/* Trains one RBM on `data` (settings checked by the caller); with job->products_only, runs
 * the same matrix products on the same schedule and nothing else (rbm bench's floors: by
 * OpenBLAS, or with job->own_products as the trainer computes them). */
int rbm_train_layer(RbmModel **out, const RbmSettings *settings, const RbmDataset *data,
                    const RbmTrainHooks *hooks, const LayerJob *job, RbmError *error);

#endif
