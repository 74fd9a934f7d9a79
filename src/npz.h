/* NumPy .npz archives (zip files of .npy arrays) for models and checkpoints: written through a
 * temporary file and a rename, read defensively (CRCs, shapes against sizes, finite values). */
#ifndef RBM_NPZ_H
#define RBM_NPZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zip.h>

#include "npy_format.h"
#include "rbm/rbm.h"

typedef struct NpzEntry {
    const char *name; /* "weights.npy" */
    uint8_t *bytes;   /* the whole .npy file */
    size_t size;
} NpzEntry;

/* A float32 array of 1 or 2 dimensions; a 0-d unicode string (UTF-8 in, UTF-32 stored). */
int rbm_npz_float_entry(NpzEntry *entry, const char *name, const float *values, int dimensions,
                        const uint64_t *shape);
int rbm_npz_string_entry(NpzEntry *entry, const char *name, const char *text);
void rbm_npz_free_entries(NpzEntry *entries, int count);
/* Writes the entries (stored, with fixed dates: the same arrays give the same bytes). */
int rbm_npz_save(const char *path, const NpzEntry *entries, int count, RbmError *error);

typedef struct NpzReader {
    zip_t *archive;
    const char *path;
} NpzReader;

int rbm_npz_open(NpzReader *reader, const char *path, RbmError *error);
void rbm_npz_close(NpzReader *reader);
/* Whether the archive has an entry `name`. */
bool rbm_npz_has(NpzReader *reader, const char *name);
/* The header of entry `name`. */
int rbm_npz_read_header(NpzReader *reader, const char *name, NpyHeader *header, RbmError *error);
/* A float32 array of exactly this shape, every value finite. */
int rbm_npz_read_floats(NpzReader *reader, const char *name, float *out, int dimensions,
                        const uint64_t *shape, RbmError *error);
int rbm_npz_read_string(NpzReader *reader, const char *name, char **out, RbmError *error);

#endif
