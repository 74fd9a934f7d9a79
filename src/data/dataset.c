/* Choosing a loader, scaling, and the checks every format shares. */
#include "memory.h"
#include "dataset.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"

static bool ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcasecmp(text + n - m, suffix) == 0;
}

/* By extension first, then by the first bytes of the file. */
static RbmDataFormat detect_format(const char *path)
{
    if (ends_with(path, ".csv") || ends_with(path, ".txt"))
        return RBM_FORMAT_CSV;
    if (ends_with(path, ".npy"))
        return RBM_FORMAT_NPY;
    if (ends_with(path, "-ubyte") || ends_with(path, "-ubyte.gz") || ends_with(path, ".idx") ||
        ends_with(path, ".idx.gz") || ends_with(path, ".idx3"))
        return RBM_FORMAT_IDX;
    unsigned char head[6] = {0};
    FILE *file = fopen(path, "rb");
    size_t n = file ? fread(head, 1, sizeof head, file) : 0;
    if (file)
        fclose(file);
    if (n >= 6 && memcmp(head, "\x93NUMPY", 6) == 0)
        return RBM_FORMAT_NPY;
    if (n >= 4 && head[0] == 0x1f && head[1] == 0x8b)
        return RBM_FORMAT_IDX;
    if (n >= 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08)
        return RBM_FORMAT_IDX;
    return RBM_FORMAT_CSV;
}

void rbm_dataset_describe(const RbmDataset *data, int64_t row, int64_t column, char *out,
                          size_t size)
{
    if (data->location == LOCATION_LINE)
        snprintf(out, size, "%lld, field %lld", (long long)(data->first_line + row),
                 (long long)column + 1);
    else
        snprintf(out, size, "byte offset %llu%s",
                 (unsigned long long)(data->data_offset +
                                      ((uint64_t)row * (uint64_t)data->columns + (uint64_t)column) *
                                          data->item_size),
                 data->offset_note ? data->offset_note : "");
}

/* Divides by the scale and checks that every value lands in [0,1]. */
static int scale_and_check(RbmDataset *data, double scale, RbmError *error)
{
    char where[96];
    const char *separator = data->location == LOCATION_LINE ? ":" : ": ";
    if (data->bytes) {
        data->scale = scale > 0 ? scale : 255.0;
        for (int value = 0; value < 256; value++)
            data->byte_to_probability[value] = (float)value / (float)data->scale;
        uint8_t limit = 255;
        while (data->byte_to_probability[limit] > 1.0f)
            limit--;
        if (limit < 255) {
            uint64_t count = (uint64_t)data->rows * (uint64_t)data->columns;
            for (uint64_t i = 0; i < count; i++) {
                if (data->bytes[i] > limit) {
                    rbm_dataset_describe(data, (int64_t)(i / (uint64_t)data->columns),
                                         (int64_t)(i % (uint64_t)data->columns), where,
                                         sizeof where);
                    return rbm_fail(error, -EINVAL,
                                    "%s%s%s: value %u / scale %g = %g is outside [0,1]",
                                    data->path, separator, where, data->bytes[i], data->scale,
                                    data->bytes[i] / data->scale);
                }
            }
        }
        return 0;
    }
    data->scale = scale > 0 ? scale : 1.0;
    uint64_t count = (uint64_t)data->rows * (uint64_t)data->columns;
    for (uint64_t i = 0; i < count; i++) {
        double raw = data->values[i];
        float value = (float)(raw / data->scale);
        if (!(value >= 0.0f && value <= 1.0f)) {
            rbm_dataset_describe(data, (int64_t)(i / (uint64_t)data->columns),
                                 (int64_t)(i % (uint64_t)data->columns), where, sizeof where);
            if (!isfinite(raw))
                return rbm_fail(error, -EINVAL, "%s%s%s: value is not finite", data->path,
                                separator, where);
            return rbm_fail(error, -EINVAL, "%s%s%s: value %g / scale %g = %g is outside [0,1]%s",
                            data->path, separator, where, raw, data->scale, raw / data->scale,
                            scale > 0 ? "" : " (set data.scale)");
        }
        data->values[i] = value;
    }
    return 0;
}

int rbm_dataset_load(RbmDataset **out, const char *path, RbmDataFormat format, double scale,
                     int64_t limit, RbmError *error)
{
    *out = NULL;
    if (!(scale >= 0) || !isfinite(scale))
        return rbm_fail(error, -EINVAL, "%s: scale %g must be positive (or 0 for auto)", path,
                        scale);
    if (limit < 0)
        return rbm_fail(error, -EINVAL, "%s: limit %lld must not be negative", path,
                        (long long)limit);
    RbmDataset *data = rbm_calloc(1, sizeof *data);
    char *path_copy = rbm_strdup(path);
    if (!data || !path_copy) {
        free(data);
        free(path_copy);
        return rbm_fail(error, -ENOMEM, "%s: out of memory", path);
    }
    data->path = path_copy;
    if (format == RBM_FORMAT_AUTO)
        format = detect_format(path);
    int result;
    switch (format) {
    case RBM_FORMAT_CSV: result = rbm_load_csv(data, path, limit, error); break;
    case RBM_FORMAT_IDX: result = rbm_load_idx(data, path, limit, error); break;
    case RBM_FORMAT_NPY: result = rbm_load_npy(data, path, limit, error); break;
    default: result = rbm_fail(error, -EINVAL, "%s: unknown format %d", path, (int)format);
    }
    if (result == 0 && (data->rows == 0 || data->columns == 0))
        result = rbm_fail(error, -EINVAL, "%s: no data (%lld rows of %lld columns)", path,
                          (long long)data->rows, (long long)data->columns);
    if (result == 0)
        result = scale_and_check(data, scale, error);
    if (result != 0) {
        rbm_dataset_free(data);
        return result;
    }
    *out = data;
    return 0;
}

int rbm_dataset_head(RbmDataset **out, const RbmDataset *data, int64_t rows)
{
    return rbm_dataset_slice(out, data, 0, rows);
}

int rbm_dataset_slice(RbmDataset **out, const RbmDataset *data, int64_t first, int64_t rows)
{
    *out = NULL;
    if (rows <= 0 || first < 0 || first > data->rows - rows)
        return -EINVAL;
    RbmDataset *view = rbm_malloc(sizeof *view);
    if (!view)
        return -ENOMEM;
    *view = *data;
    view->rows = rows;
    view->is_view = true;
    size_t offset = (size_t)first * (size_t)data->columns;
    if (data->bytes)
        view->bytes = data->bytes + offset;
    else
        view->values = data->values + offset;
    if (data->labels)
        view->labels = data->labels + first;
    if (data->location == LOCATION_LINE)
        view->first_line = data->first_line + first;
    else
        view->data_offset = data->data_offset + offset * data->item_size;
    *out = view;
    return 0;
}

int rbm_dataset_from_values(RbmDataset **out, float *values, int64_t rows, int64_t columns,
                            const char *path)
{
    *out = NULL;
    RbmDataset *data = rbm_calloc(1, sizeof *data);
    char *path_copy = rbm_strdup(path);
    if (!data || !path_copy) {
        free(data);
        free(path_copy);
        return -ENOMEM;
    }
    data->rows = rows;
    data->columns = columns;
    data->values = values;
    data->scale = 1.0;
    data->path = path_copy;
    data->location = LOCATION_BYTE;
    data->item_size = sizeof(float);
    *out = data;
    return 0;
}

void rbm_dataset_free(RbmDataset *data)
{
    if (!data)
        return;
    if (data->is_view) {
        free(data);
        return;
    }
    free(data->bytes);
    free(data->values);
    free(data->labels);
    free((char *)data->path);
    free(data);
}

int64_t rbm_dataset_rows(const RbmDataset *data) { return data->rows; }
int64_t rbm_dataset_columns(const RbmDataset *data) { return data->columns; }
int rbm_dataset_is_8bit(const RbmDataset *data) { return data->bytes != NULL; }

void rbm_dataset_row(const RbmDataset *data, int64_t row, float *out)
{
    size_t columns = (size_t)data->columns;
    if (data->bytes) {
        const uint8_t *bytes = data->bytes + (size_t)row * columns;
        for (size_t j = 0; j < columns; j++)
            out[j] = data->byte_to_probability[bytes[j]];
    } else {
        memcpy(out, data->values + (size_t)row * columns, columns * sizeof *out);
    }
}
