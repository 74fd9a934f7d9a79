/* Settings functions the library uses internally. */
#ifndef RBM_SETTINGS_INTERNAL_H
#define RBM_SETTINGS_INTERNAL_H

#include <stddef.h>

#include "rbm/rbm.h"

/* The selected keys as a new INI text (free it), or NULL when out of memory. */
char *rbm_settings_text(const RbmSettings *settings, RbmKeySelection keys);

/* Writes "section.key (A in the checkpoint, B now), ..." for each key the result depends on
 * whose value differs, except train.epochs (a run may be extended) and data.train (the data
 * itself is compared by fingerprint). Returns the number of such keys. */
int rbm_settings_differences(const RbmSettings *saved, const RbmSettings *now, char *out,
                             size_t size);

#endif
