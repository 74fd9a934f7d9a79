/* log Z of an RBM: exactly, by enumerating the smaller layer's 2^n states, or estimated by
 * annealed importance sampling (Salakhutdinov and Murray, "On the quantitative analysis of
 * deep belief networks", 2008). */
#ifndef RBM_PARTITION_H
#define RBM_PARTITION_H

#include <stdint.h>

#include "rbm/rbm.h"

#define AIS_STREAM 0x4149u /* "AI": run r draws from stream AIS_STREAM + (r << 16) */

/* log sum over hidden states h of exp(hb.h + sum_j softplus(vb_j + (h W)_j)); H <= 30 */
double rbm_log_z_by_hidden(const RbmModel *model);
/* log sum over visible states v of exp(vb.v + sum_h softplus(hb_h + (W v)_h)); V <= 30 */
double rbm_log_z_by_visible(const RbmModel *model);
/* AIS from the base-rate model (visible biases base_bias, no weights) to `model`. */
int rbm_log_z_ais(const RbmModel *model, const float *base_bias, const RbmAisSettings *ais,
                  double *log_z, double *log_z_stderr, RbmError *error);

#endif
