/* Checkpoints: everything the next mini-batch depends on, so that a resumed run ends with the
 * same bytes as one that was never stopped. */
#ifndef RBM_CHECKPOINT_H
#define RBM_CHECKPOINT_H

#include <stdint.h>

#include "cd.h"
#include "rbm/rbm.h"

#define CHECKPOINT_FORMAT_VERSION 2

/* Where a run stands between two mini-batches. The random-number position of the next batch
 * follows from it: ((epoch * samples + batch * batch_size) * draws_per_sample). */
typedef struct Progress {
    int64_t epoch;           /* the next batch's epoch, 0-based */
    int64_t batch;           /* the next batch's index within that epoch */
    double squared_error;    /* sum of (v0p - vnp)^2 over the epoch's batches so far */
    double last_epoch_error; /* recon_error of the last finished epoch (NaN before one) */
    int64_t layer;           /* the RBM of a stack being trained, 1-based */
} Progress;

/* A 64-bit FNV-1a fingerprint of the data set's shape and values, as used for training. */
uint64_t rbm_dataset_fingerprint(const RbmDataset *data);

int rbm_checkpoint_save(const char *path, const RbmSettings *settings, uint64_t data_fingerprint,
                        const Shape *shape, const Parameters *params, const Parameters *velocity,
                        const float *chains, const Progress *progress, RbmError *error);

/* Loads a checkpoint made for the same computation: the keys the result depends on must match
 * (train.epochs may grow; data.train may move if the data is the same), or the error names the
 * keys that differ. chains: the PCD chains [batch_size][hidden] when shape->persistent. */
int rbm_checkpoint_load(const char *path, const RbmSettings *settings, uint64_t data_fingerprint,
                        const Shape *shape, Parameters *params, Parameters *velocity,
                        float *chains, Progress *progress, RbmError *error);

/* The RBM of a stack (1-based) the checkpoint continues. */
int rbm_checkpoint_layer(const char *path, int64_t *layer, RbmError *error);

#endif
