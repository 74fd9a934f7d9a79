/* The NumPy .npy header: parsed strictly for data files and model archives, and written for
 * models. https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html */
#ifndef RBM_NPY_FORMAT_H
#define RBM_NPY_FORMAT_H

#include <stddef.h>
#include <stdint.h>

typedef enum NpyType { NPY_U8, NPY_F32, NPY_F64, NPY_UNICODE } NpyType;

typedef struct NpyHeader {
    NpyType type;
    size_t item_size;     /* bytes per element (4 x characters for unicode) */
    int dimensions;       /* 0, 1 or 2 */
    uint64_t shape[2];
    uint64_t elements;    /* product of the shape (1 for a 0-d array) */
    size_t header_offset; /* where the header's dictionary starts: 10 (version 1), 12 (2, 3) */
    size_t data_offset;   /* where the array data starts */
} NpyHeader;

/* Parses the header at the start of data[0..size). Checks the magic, version, dictionary,
 * dtype, order and that the data fits: size must equal data_offset + elements * item_size.
 * On failure writes "byte offset N: reason" into reason[] and returns -EINVAL. */
int rbm_npy_parse_header(const uint8_t *data, size_t size, NpyHeader *out, char *reason,
                         size_t reason_size);

/* Writes a version 1.0 header for a little-endian array into out[128]; returns its length (a
 * multiple of 64). descr is e.g. "<f4" or "<U12"; shape has `dimensions` entries (0 to 2). */
size_t rbm_npy_write_header(uint8_t out[128], const char *descr, int dimensions,
                            const uint64_t *shape);

#endif
