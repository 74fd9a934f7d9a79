/* Filling an RbmError: the one place messages are formatted. */
#ifndef RBM_ERROR_H
#define RBM_ERROR_H

#include "rbm/rbm.h"

/* Formats the message into *error (when error is not NULL) and returns `code` (a negative
 * errno), so that failures read `return rbm_fail(error, -EINVAL, "%s:%d: ...", ...);`. */
int rbm_fail(RbmError *error, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
