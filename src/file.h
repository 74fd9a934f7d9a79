/* Whole-file reads and crash-safe writes (temporary file, fsync, rename, fsync directory). */
#ifndef RBM_FILE_H
#define RBM_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "rbm/rbm.h"

/* Reads all of `path` into a new NUL-terminated buffer. Files over max_bytes are refused. */
int rbm_read_file(const char *path, size_t max_bytes, char **out, size_t *size, RbmError *error);

/* Number of '\n' in text[0..length). */
size_t rbm_count_lines(const char *text, size_t length);

/* rbm_write_atomically (rbm.h) writes every output: temporary file, fsync, rename. */

#endif
