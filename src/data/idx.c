/* IDX (MNIST's idx3-ubyte), plain or gzip-compressed: unsigned bytes, N x d1 x d2... becomes N
 * rows of d1*d2... columns. Dimensions are checked for overflow and against the file's size
 * before anything is allocated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "memory.h"
#include "../error.h"
#include "dataset.h"

/* The most deflate can expand: about 1032 to 1; a header that claims more than this is a lie. */
#define GZIP_MAX_RATIO 1100u

int rbm_load_idx(RbmDataset *data, const char *path, int64_t limit, RbmError *error)
{
    struct stat info;
    if (stat(path, &info) != 0)
        return rbm_fail(error, errno == ENOENT ? -ENOENT : -EINVAL, "%s: cannot open: %s", path,
                        strerror(errno));
    if (!S_ISREG(info.st_mode))
        return rbm_fail(error, -EINVAL, "%s: not a regular file", path);
    FILE *raw = fopen(path, "rb");
    if (!raw)
        return rbm_fail(error, -EINVAL, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[2] = {0};
    int compressed = fread(magic, 1, 2, raw) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    fclose(raw);
    const char *note = compressed ? " (uncompressed)" : "";
    data->offset_note = compressed ? " of the uncompressed data" : NULL;

    gzFile file = gzopen(path, "rb");
    if (!file)
        return rbm_fail(error, -ENOMEM, "%s: cannot open", path);
    gzbuffer(file, 1 << 17);
    int result = 0;
    unsigned char header[4 + 4 * 255];
    int got = gzread(file, header, 4);
    if (got != 4) {
        result = rbm_fail(error, -EINVAL, "%s: byte offset %d%s: truncated IDX header%s", path,
                          got < 0 ? 0 : got, note, got == 0 ? " (empty file)" : "");
        goto done;
    }
    if (header[0] != 0 || header[1] != 0) {
        result = rbm_fail(error, -EINVAL,
                          "%s: byte offset 0: wrong IDX magic %02x %02x %02x %02x (expected 00 00 "
                          "08 0N)",
                          path, header[0], header[1], header[2], header[3]);
        goto done;
    }
    if (header[2] != 0x08) {
        result = rbm_fail(error, -EINVAL,
                          "%s: byte offset 2: IDX element type 0x%02x is not supported (only "
                          "unsigned bytes, 0x08)",
                          path, header[2]);
        goto done;
    }
    int dimensions = header[3];
    if (dimensions < 1) {
        result = rbm_fail(error, -EINVAL, "%s: byte offset 3: IDX file with 0 dimensions", path);
        goto done;
    }
    got = gzread(file, header + 4, (unsigned)(4 * dimensions));
    if (got != 4 * dimensions) {
        result = rbm_fail(error, -EINVAL, "%s: byte offset %d%s: truncated IDX header", path,
                          4 + (got < 0 ? 0 : got), note);
        goto done;
    }
    uint64_t rows = 0, columns = 1;
    int empty_dimension = -1; /* the first dimension of size 0 */
    for (int d = 0; d < dimensions; d++) {
        const unsigned char *p = header + 4 + 4 * d;
        uint64_t size = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
        if (size == 0 && empty_dimension < 0)
            empty_dimension = d;
        if (d == 0) {
            rows = size;
        } else {
            if (size != 0 && columns > (UINT64_MAX >> 20) / size) {
                result = rbm_fail(error, -EINVAL,
                                  "%s: byte offset %d: IDX dimensions overflow", path, 4 + 4 * d);
                goto done;
            }
            columns *= size;
        }
    }
    if (empty_dimension >= 0) {
        result = rbm_fail(error, -EINVAL,
                          "%s: byte offset %d%s: the IDX header gives %llu rows of %llu values: "
                          "no data",
                          path, 4 + 4 * empty_dimension, note, (unsigned long long)rows,
                          (unsigned long long)columns);
        goto done;
    }
    uint64_t data_offset = 4 + 4 * (uint64_t)dimensions;
    if (columns != 0 && rows > (UINT64_MAX >> 20) / columns) {
        result = rbm_fail(error, -EINVAL, "%s: byte offset 4: IDX dimensions overflow", path);
        goto done;
    }
    uint64_t claimed = rows * columns;
    uint64_t available = compressed ? (uint64_t)info.st_size * GZIP_MAX_RATIO
                                    : (uint64_t)info.st_size - data_offset;
    if (claimed > available) {
        result = rbm_fail(error, -EINVAL,
                          "%s: byte offset 4: IDX header claims %llu x %llu bytes but the file "
                          "%s only %llu",
                          path, (unsigned long long)rows, (unsigned long long)columns,
                          compressed ? "could hold" : "has", (unsigned long long)available);
        goto done;
    }
    uint64_t keep = limit > 0 && (uint64_t)limit < rows ? (uint64_t)limit : rows;
    data->rows = (int64_t)keep;
    data->columns = (int64_t)columns;
    data->location = LOCATION_BYTE;
    data->data_offset = data_offset;
    data->item_size = 1;
    data->bytes = rbm_malloc(keep * columns > 0 ? keep * columns : 1);
    if (!data->bytes) {
        result = rbm_fail(error, -ENOMEM, "%s: out of memory for %llu bytes", path,
                          (unsigned long long)(keep * columns));
        goto done;
    }
    uint64_t done_bytes = 0, want = keep * columns;
    while (done_bytes < want) {
        unsigned step = want - done_bytes > (1u << 30) ? (1u << 30) : (unsigned)(want - done_bytes);
        int n = gzread(file, data->bytes + done_bytes, step);
        if (n <= 0) {
            int code;
            const char *message = gzerror(file, &code);
            result = rbm_fail(error, -EINVAL,
                              "%s: byte offset %llu%s: %s (the header says %llu bytes of data)",
                              path, (unsigned long long)(data_offset + done_bytes), note,
                              n < 0 ? message : "truncated IDX data",
                              (unsigned long long)claimed);
            goto done;
        }
        done_bytes += (uint64_t)n;
    }
    if (keep == rows) {
        unsigned char extra;
        int n = gzread(file, &extra, 1);
        if (n != 0) {
            int code;
            const char *message = gzerror(file, &code);
            result = rbm_fail(error, -EINVAL, "%s: byte offset %llu%s: %s", path,
                              (unsigned long long)(data_offset + claimed), note,
                              n < 0 ? message : "trailing bytes after the IDX data");
        }
    }
done:
    gzclose(file);
    return result;
}
