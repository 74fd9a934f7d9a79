/* What changes from epoch to epoch, computed the same way by every worker from the settings
 * and the epoch number alone (so a resumed run needs nothing more in its checkpoint): the
 * learning rate and momentum schedules, and the shuffled order of the rows. */
#ifndef RBM_SCHEDULE_H
#define RBM_SCHEDULE_H

#include <stdint.h>

#include "cd.h"
#include "rbm/rbm.h"

/* The one random stream of the shuffles: epoch e's permutation uses draws from e * 2^40 on. */
#define SHUFFLE_STREAM 0x5348u /* "SH" */

/* The update rule of epoch `epoch` (0-based): momentum schedule and learning-rate decay. */
UpdateRule rbm_rule_for_epoch(const RbmSettings *settings, int64_t epoch);

/* order[0..n) = a permutation of 0..n-1, Fisher-Yates with unbiased bounded draws, the same
 * for the same seed and epoch on every machine. */
void rbm_shuffle_order(int64_t *order, int64_t n, uint64_t seed, int64_t epoch);

/* visible_bias[j] = log(p / (1 - p)) for the mean p of column j over the data, p clipped to
 * [0.001, 0.999] (Hinton's practical guide, section 8); rows summed in order, in double.
 * Returns 0 or -ENOMEM. */
int rbm_visible_bias_from_data(float *visible_bias, const RbmDataset *data);

#endif
