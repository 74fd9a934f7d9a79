/* Internal: one RBM's hidden probabilities as a new data set (the next layer of a stack
 * trains on them). */
#ifndef RBM_TRANSFORM_H
#define RBM_TRANSFORM_H

#include "rbm/rbm.h"

int rbm_layer_features(RbmDataset **out, const RbmModel *rbm, const RbmDataset *data, int threads,
                       RbmError *error);

#endif
