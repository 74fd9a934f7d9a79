/* NumPy .npy: 2-D, C order, uint8 (kept as bytes), float32 or float64. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "../error.h"
#include "../file.h"
#include "../npy_format.h"
#include "dataset.h"

int rbm_load_npy(RbmDataset *data, const char *path, int64_t limit, RbmError *error)
{
    char *file = NULL;
    size_t size = 0;
    int result = rbm_read_file(path, (size_t)1 << 40, &file, &size, error);
    if (result < 0)
        return result;
    NpyHeader header;
    char reason[512];
    if (size == 0) {
        free(file);
        return rbm_fail(error, -EINVAL, "%s: byte offset 0: empty file", path);
    }
    if (rbm_npy_parse_header((const uint8_t *)file, size, &header, reason, sizeof reason) < 0) {
        free(file);
        return rbm_fail(error, -EINVAL, "%s: %s", path, reason);
    }
    if (header.dimensions != 2 || header.type == NPY_UNICODE) {
        free(file);
        return rbm_fail(error, -EINVAL,
                        "%s: byte offset %zu: expected a 2-D numeric array (rows x columns), "
                        "found %d dimensions",
                        path, header.header_offset, header.dimensions);
    }
    uint64_t rows = header.shape[0], columns = header.shape[1];
    if (rows == 0 || columns == 0) {
        free(file);
        return rbm_fail(error, -EINVAL,
                        "%s: byte offset %zu: the header's shape (%llu, %llu) holds no data",
                        path, header.header_offset, (unsigned long long)rows,
                        (unsigned long long)columns);
    }
    if (limit > 0 && (uint64_t)limit < rows)
        rows = (uint64_t)limit;
    data->rows = (int64_t)rows;
    data->columns = (int64_t)columns;
    data->location = LOCATION_BYTE;
    data->data_offset = header.data_offset;
    data->item_size = header.item_size;
    const uint8_t *payload = (const uint8_t *)file + header.data_offset;
    uint64_t count = rows * columns;
    if (header.type == NPY_U8) {
        data->bytes = rbm_malloc(count ? count : 1);
        if (data->bytes)
            memcpy(data->bytes, payload, count);
    } else {
        data->values = rbm_malloc((count ? count : 1) * sizeof(float));
        if (data->values) {
            for (uint64_t i = 0; i < count; i++) {
                if (header.type == NPY_F32) {
                    memcpy(&data->values[i], payload + 4 * i, 4);
                } else {
                    double value;
                    memcpy(&value, payload + 8 * i, 8);
                    data->values[i] = (float)value;
                }
            }
        }
    }
    free(file);
    if (!data->bytes && !data->values)
        return rbm_fail(error, -ENOMEM, "%s: out of memory for %llu values", path,
                        (unsigned long long)count);
    return 0;
}
