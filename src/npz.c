#include "memory.h"
#include "npz.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "file.h"

#define MAX_STRING_CHARACTERS (1u << 22)

int rbm_npz_float_entry(NpzEntry *entry, const char *name, const float *values, int dimensions,
                       const uint64_t *shape)
{
    uint64_t count = 1;
    for (int d = 0; d < dimensions; d++)
        count *= shape[d];
    uint8_t header[128];
    size_t header_size = rbm_npy_write_header(header, "<f4", dimensions, shape);
    entry->name = name;
    entry->size = header_size + count * sizeof(float);
    entry->bytes = rbm_malloc(entry->size);
    if (!entry->bytes)
        return -ENOMEM;
    memcpy(entry->bytes, header, header_size);
    memcpy(entry->bytes + header_size, values, count * sizeof(float));
    return 0;
}

/* UTF-8 text as a 0-d '<U' array (UTF-32LE); bytes that are not UTF-8 are kept as Latin-1. */
int rbm_npz_string_entry(NpzEntry *entry, const char *name, const char *text)
{
    size_t length = strlen(text);
    uint32_t *characters = rbm_malloc((length + 1) * sizeof *characters);
    if (!characters)
        return -ENOMEM;
    size_t count = 0;
    const unsigned char *p = (const unsigned char *)text, *end = p + length;
    while (p < end) {
        uint32_t c = *p;
        int extra = c >= 0xf0 && c < 0xf8 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
        bool valid = extra > 0 && end - p > extra;
        for (int k = 1; valid && k <= extra; k++)
            valid = (p[k] & 0xc0) == 0x80;
        if (valid) {
            c &= 0x3fu >> extra;
            for (int k = 1; k <= extra; k++)
                c = c << 6 | (p[k] & 0x3fu);
            p += extra + 1;
        } else {
            p++;
        }
        characters[count++] = c;
    }
    char descr[32];
    snprintf(descr, sizeof descr, "<U%zu", count ? count : (size_t)1);
    if (count == 0)
        characters[count++] = 0;
    uint8_t header[128];
    size_t header_size = rbm_npy_write_header(header, descr, 0, NULL);
    entry->name = name;
    entry->size = header_size + count * 4;
    entry->bytes = rbm_malloc(entry->size);
    if (!entry->bytes) {
        free(characters);
        return -ENOMEM;
    }
    memcpy(entry->bytes, header, header_size);
    for (size_t i = 0; i < count; i++)
        for (int b = 0; b < 4; b++)
            entry->bytes[header_size + 4 * i + (size_t)b] = (uint8_t)(characters[i] >> (8 * b));
    free(characters);
    return 0;
}

typedef struct SaveJob {
    const NpzEntry *entries;
    int count;
} SaveJob;

/* Opens a zip archive, or fails with `code` and "path: what: libzip's reason". */
static zip_t *open_zip(const char *path, int flags, int code, const char *what, int *result,
                       RbmError *error)
{
    int zip_code = 0;
    zip_t *archive = zip_open(path, flags, &zip_code);
    if (!archive) {
        zip_error_t detail;
        zip_error_init_with_code(&detail, zip_code);
        *result = rbm_fail(error, code, "%s: %s: %s", path, what, zip_error_strerror(&detail));
        zip_error_fini(&detail);
    }
    return archive;
}

static int write_zip(const char *temp_path, void *user, RbmError *error)
{
    const SaveJob *job = user;
    int result = 0;
    zip_t *archive = open_zip(temp_path, ZIP_CREATE | ZIP_TRUNCATE, -EIO, "cannot create",
                              &result, error);
    if (!archive)
        return result;
    for (int i = 0; i < job->count; i++) {
        zip_source_t *source =
            zip_source_buffer(archive, job->entries[i].bytes, job->entries[i].size, 0);
        zip_int64_t index = source ? zip_file_add(archive, job->entries[i].name, source,
                                                  ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8)
                                   : -1;
        if (index < 0) {
            if (source)
                zip_source_free(source);
            result = rbm_fail(error, -EIO, "%s: cannot add %s: %s", temp_path,
                                  job->entries[i].name, zip_strerror(archive));
            zip_discard(archive);
            return result;
        }
        /* Stored, dated 1980-01-01 00:00: the same model gives the same file bytes. */
        zip_set_file_compression(archive, (zip_uint64_t)index, ZIP_CM_STORE, 0);
        zip_file_set_dostime(archive, (zip_uint64_t)index, 0, (1 << 5) | 1, 0);
    }
    if (zip_close(archive) != 0) {
        result = rbm_fail(error, -EIO, "%s: cannot write: %s", temp_path,
                              zip_strerror(archive));
        zip_discard(archive);
        return result;
    }
    return 0;
}

void rbm_npz_free_entries(NpzEntry *entries, int count)
{
    for (int i = 0; i < count; i++) {
        free(entries[i].bytes);
        entries[i].bytes = NULL;
    }
}

int rbm_npz_save(const char *path, const NpzEntry *entries, int count, RbmError *error)
{
    return rbm_write_atomically(path, write_zip, &(SaveJob){entries, count}, error);
}

static int read_entry(NpzReader *reader, const char *name, uint8_t **out, size_t *size,
                      RbmError *error)
{
    zip_t *archive = reader->archive;
    const char *path = reader->path;
    zip_stat_t info;
    zip_stat_init(&info);
    if (zip_stat(archive, name, 0, &info) != 0 || !(info.valid & ZIP_STAT_SIZE))
        return rbm_fail(error, -EINVAL, "%s: %s is missing from the archive (not an rbm file of this kind)", path, name);
    if (info.size > ((uint64_t)1 << 36))
        return rbm_fail(error, -EINVAL, "%s: %s: %llu bytes is too large", path, name,
                        (unsigned long long)info.size);
    uint8_t *bytes = rbm_malloc(info.size ? info.size : 1);
    if (!bytes)
        return rbm_fail(error, -ENOMEM, "%s: %s: out of memory", path, name);
    zip_file_t *file = zip_fopen(archive, name, 0);
    zip_int64_t got = file ? zip_fread(file, bytes, info.size) : -1;
    /* A second read reaches the end of the entry, where libzip checks the CRC. */
    uint8_t extra;
    zip_int64_t more = file && got == (zip_int64_t)info.size ? zip_fread(file, &extra, 1) : -1;
    if (!file || got != (zip_int64_t)info.size || more != 0) {
        int result = rbm_fail(error, -EINVAL, "%s: %s: cannot read: %s", path, name,
                              file ? zip_file_strerror(file) : zip_strerror(archive));
        if (file)
            zip_fclose(file);
        free(bytes);
        return result;
    }
    zip_fclose(file);
    *out = bytes;
    *size = info.size;
    return 0;
}

/* Reads entry `name` and parses its .npy header; on success *bytes is the whole entry. */
static int read_npy(NpzReader *reader, const char *name, uint8_t **bytes, NpyHeader *header,
                    RbmError *error)
{
    size_t size = 0;
    *bytes = NULL;
    int result = read_entry(reader, name, bytes, &size, error);
    if (result < 0)
        return result;
    char reason[512];
    if (rbm_npy_parse_header(*bytes, size, header, reason, sizeof reason) < 0) {
        free(*bytes);
        *bytes = NULL;
        return rbm_fail(error, -EINVAL, "%s: %s: %s", reader->path, name, reason);
    }
    return 0;
}

int rbm_npz_read_floats(NpzReader *reader, const char *name, float *out, int dimensions,
                        const uint64_t *shape, RbmError *error)
{
    const char *path = reader->path;
    uint8_t *bytes;
    NpyHeader header;
    int result = read_npy(reader, name, &bytes, &header, error);
    if (result < 0)
        return result;
    if (header.type != NPY_F32 || header.dimensions != dimensions ||
               header.shape[0] != shape[0] || (dimensions == 2 && header.shape[1] != shape[1])) {
        result = rbm_fail(error, -EINVAL,
                          "%s: %s: expected float32 of shape (%llu%s%s), found another dtype or "
                          "shape",
                          path, name, (unsigned long long)shape[0], dimensions == 2 ? ", " : ",",
                          dimensions == 2 ? "..." : "");
    } else {
        memcpy(out, bytes + header.data_offset, header.elements * sizeof(float));
        for (uint64_t i = 0; i < header.elements && result == 0; i++)
            if (!isfinite(out[i]))
                result = rbm_fail(error, -EINVAL, "%s: %s: element %llu is not finite", path,
                                  name, (unsigned long long)i);
    }
    free(bytes);
    return result;
}

int rbm_npz_read_string(NpzReader *reader, const char *name, char **out, RbmError *error)
{
    const char *path = reader->path;
    uint8_t *bytes;
    NpyHeader header;
    int result = read_npy(reader, name, &bytes, &header, error);
    if (result < 0)
        return result;
    if (header.type != NPY_UNICODE || header.dimensions != 0 ||
        header.item_size / 4 > MAX_STRING_CHARACTERS) {
        free(bytes);
        return rbm_fail(error, -EINVAL, "%s: %s: expected a 0-d unicode string", path, name);
    }
    size_t characters = header.item_size / 4;
    char *text = rbm_malloc(characters * 4 + 1);
    if (!text) {
        free(bytes);
        return rbm_fail(error, -ENOMEM, "%s: out of memory", path);
    }
    size_t length = 0;
    for (size_t i = 0; i < characters; i++) {
        const uint8_t *p = bytes + header.data_offset + 4 * i;
        uint32_t c = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (c == 0)
            break; /* numpy pads with NULs */
        if (c < 0x80) {
            text[length++] = (char)c;
        } else if (c < 0x800) {
            text[length++] = (char)(0xc0 | c >> 6);
            text[length++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            text[length++] = (char)(0xe0 | c >> 12);
            text[length++] = (char)(0x80 | ((c >> 6) & 0x3f));
            text[length++] = (char)(0x80 | (c & 0x3f));
        } else {
            text[length++] = (char)(0xf0 | ((c >> 18) & 0x07));
            text[length++] = (char)(0x80 | ((c >> 12) & 0x3f));
            text[length++] = (char)(0x80 | ((c >> 6) & 0x3f));
            text[length++] = (char)(0x80 | (c & 0x3f));
        }
    }
    text[length] = '\0';
    free(bytes);
    *out = text;
    return 0;
}

int rbm_npz_read_header(NpzReader *reader, const char *name, NpyHeader *header, RbmError *error)
{
    uint8_t *bytes;
    int result = read_npy(reader, name, &bytes, header, error);
    if (result == 0)
        free(bytes);
    return result;
}

bool rbm_npz_has(NpzReader *reader, const char *name)
{
    return zip_name_locate(reader->archive, name, 0) >= 0;
}

int rbm_npz_open(NpzReader *reader, const char *path, RbmError *error)
{
    reader->archive = NULL;
    reader->path = path;
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return rbm_fail(error, errno == ENOENT ? -ENOENT : -EINVAL, "%s: cannot open: %s", path,
                        strerror(errno));
    fclose(probe);
    int result = 0;
    reader->archive = open_zip(path, ZIP_RDONLY | ZIP_CHECKCONS, -EINVAL,
                               "not a readable .npz file", &result, error);
    return result;
}

void rbm_npz_close(NpzReader *reader)
{
    if (reader->archive)
        zip_discard(reader->archive);
    reader->archive = NULL;
}
