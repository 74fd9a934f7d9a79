/* The in-memory data set every loader fills: rows x columns, 8-bit sources kept as bytes (one
 * byte per value; rows become floats a chunk at a time), other sources as scaled floats. */
#ifndef RBM_DATA_DATASET_H
#define RBM_DATA_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "rbm/rbm.h"

/* How to say where value (row, column) came from, for error messages. */
typedef enum LocationKind {
    LOCATION_LINE,       /* text: line first_line + row, field column + 1 */
    LOCATION_BYTE,       /* binary: byte data_offset + (row * columns + column) * item_size */
} LocationKind;

struct RbmDataset {
    int64_t rows, columns;
    uint8_t *bytes;          /* [rows][columns] for 8-bit sources, else NULL */
    float *values;           /* [rows][columns] otherwise, scaled to [0,1] at load */
    float byte_to_probability[256]; /* bytes[i] / scale, for 8-bit sources */
    double scale;            /* what values were divided by */
    int32_t *labels;         /* [rows] from a CSV 'label' column, else NULL */
    bool is_view;            /* shares another data set's memory (rbm_dataset_head) */
    /* where the values came from */
    const char *path;
    LocationKind location;
    int64_t first_line;      /* LOCATION_LINE: line number of row 0 */
    uint64_t data_offset;    /* LOCATION_BYTE */
    uint64_t item_size;      /* LOCATION_BYTE */
    const char *offset_note; /* e.g. " (uncompressed)" */
};

/* Loaders fill rows, columns, bytes or values (unscaled), labels and the location fields. */
int rbm_load_csv(RbmDataset *data, const char *path, int64_t limit, RbmError *error);
int rbm_load_idx(RbmDataset *data, const char *path, int64_t limit, RbmError *error);
int rbm_load_npy(RbmDataset *data, const char *path, int64_t limit, RbmError *error);

/* A data set of the float rows in values[rows][columns] (probabilities already), which it
 * takes over once this returns 0 (rbm_dataset_free frees them); `path` names it in
 * messages. */
int rbm_dataset_from_values(RbmDataset **out, float *values, int64_t rows, int64_t columns,
                            const char *path);

/* Writes " line 12, column 3" or " byte offset 1234" for value (row, column). */
void rbm_dataset_describe(const RbmDataset *data, int64_t row, int64_t column, char *out,
                          size_t size);

#endif
