/* Model files: a NumPy .npz (a zip of .npy arrays) that numpy.load opens:
 *   weights.npy       float32 [hidden, visible]
 *   hidden_bias.npy   float32 [hidden]
 *   visible_bias.npy  float32 [visible]
 *   config.npy        0-d unicode string: the settings, as INI text
 *   metadata.npy      0-d unicode string: JSON (format version, seed, epochs, metrics...)
 * Saved through a temporary file and a rename; loaded defensively (CRCs, shapes against sizes,
 * finite values). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "error.h"
#include "file.h"
#include "npy_format.h"
#include "rbm/rbm.h"

#define MAX_STRING_CHARACTERS (1u << 22)

int rbm_model_new(RbmModel **out, int64_t visible, int64_t hidden)
{
    *out = NULL;
    if (visible <= 0 || hidden <= 0 || visible > (1 << 24) || hidden > (1 << 24) ||
        (uint64_t)visible * (uint64_t)hidden > ((uint64_t)1 << 34))
        return -EINVAL;
    RbmModel *model = calloc(1, sizeof *model);
    size_t count = (size_t)(hidden * visible + hidden + visible);
    float *memory = calloc(count, sizeof(float));
    if (!model || !memory) {
        free(model);
        free(memory);
        return -ENOMEM;
    }
    model->visible = visible;
    model->hidden = hidden;
    model->weights = memory;
    model->hidden_bias = memory + hidden * visible;
    model->visible_bias = model->hidden_bias + hidden;
    *out = model;
    return 0;
}

void rbm_model_free(RbmModel *model)
{
    if (!model)
        return;
    free(model->weights);
    free(model->config_text);
    free(model->metadata_json);
    free(model);
}

/* ---- saving */

typedef struct Entry {
    const char *name;
    uint8_t *bytes;
    size_t size;
} Entry;

static int float_entry(Entry *entry, const char *name, const float *values, int dimensions,
                       const uint64_t *shape)
{
    uint64_t count = 1;
    for (int d = 0; d < dimensions; d++)
        count *= shape[d];
    uint8_t header[128];
    size_t header_size = rbm_npy_write_header(header, "<f4", dimensions, shape);
    entry->name = name;
    entry->size = header_size + count * sizeof(float);
    entry->bytes = malloc(entry->size);
    if (!entry->bytes)
        return -ENOMEM;
    memcpy(entry->bytes, header, header_size);
    memcpy(entry->bytes + header_size, values, count * sizeof(float));
    return 0;
}

/* UTF-8 text as a 0-d '<U' array (UTF-32LE); bytes that are not UTF-8 are kept as Latin-1. */
static int string_entry(Entry *entry, const char *name, const char *text)
{
    size_t length = strlen(text);
    uint32_t *characters = malloc((length + 1) * sizeof *characters);
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
    entry->bytes = malloc(entry->size);
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
    const Entry *entries;
    int count;
} SaveJob;

static int write_zip(const char *temp_path, void *user, RbmError *error)
{
    const SaveJob *job = user;
    int code = 0;
    zip_t *archive = zip_open(temp_path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    if (!archive) {
        zip_error_t detail;
        zip_error_init_with_code(&detail, code);
        int result = rbm_fail(error, -EIO, "%s: cannot create: %s", temp_path,
                              zip_error_strerror(&detail));
        zip_error_fini(&detail);
        return result;
    }
    for (int i = 0; i < job->count; i++) {
        zip_source_t *source =
            zip_source_buffer(archive, job->entries[i].bytes, job->entries[i].size, 0);
        zip_int64_t index = source ? zip_file_add(archive, job->entries[i].name, source,
                                                  ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8)
                                   : -1;
        if (index < 0) {
            if (source)
                zip_source_free(source);
            int result = rbm_fail(error, -EIO, "%s: cannot add %s: %s", temp_path,
                                  job->entries[i].name, zip_strerror(archive));
            zip_discard(archive);
            return result;
        }
        /* Stored, dated 1980-01-01 00:00: the same model gives the same file bytes. */
        zip_set_file_compression(archive, (zip_uint64_t)index, ZIP_CM_STORE, 0);
        zip_file_set_dostime(archive, (zip_uint64_t)index, 0, (1 << 5) | 1, 0);
    }
    if (zip_close(archive) != 0) {
        int result = rbm_fail(error, -EIO, "%s: cannot write: %s", temp_path,
                              zip_strerror(archive));
        zip_discard(archive);
        return result;
    }
    return 0;
}

int rbm_model_save(const RbmModel *model, const char *path, RbmError *error)
{
    Entry entries[5] = {{0}};
    uint64_t matrix[2] = {(uint64_t)model->hidden, (uint64_t)model->visible};
    uint64_t hidden[1] = {(uint64_t)model->hidden}, visible[1] = {(uint64_t)model->visible};
    int result = float_entry(&entries[0], "weights.npy", model->weights, 2, matrix);
    if (result == 0)
        result = float_entry(&entries[1], "hidden_bias.npy", model->hidden_bias, 1, hidden);
    if (result == 0)
        result = float_entry(&entries[2], "visible_bias.npy", model->visible_bias, 1, visible);
    if (result == 0)
        result = string_entry(&entries[3], "config.npy",
                              model->config_text ? model->config_text : "");
    if (result == 0)
        result = string_entry(&entries[4], "metadata.npy",
                              model->metadata_json ? model->metadata_json : "{}");
    if (result != 0)
        result = rbm_fail(error, -ENOMEM, "%s: out of memory", path);
    else
        result = rbm_write_atomically(path, write_zip, &(SaveJob){entries, 5}, error);
    for (int i = 0; i < 5; i++)
        free(entries[i].bytes);
    return result;
}

/* ---- loading */

static int read_entry(zip_t *archive, const char *path, const char *name, uint8_t **out,
                      size_t *size, RbmError *error)
{
    zip_stat_t info;
    zip_stat_init(&info);
    if (zip_stat(archive, name, 0, &info) != 0 || !(info.valid & ZIP_STAT_SIZE))
        return rbm_fail(error, -EINVAL, "%s: not an rbm model: no %s in the archive", path, name);
    if (info.size > ((uint64_t)1 << 36))
        return rbm_fail(error, -EINVAL, "%s: %s: %llu bytes is too large", path, name,
                        (unsigned long long)info.size);
    uint8_t *bytes = malloc(info.size ? info.size : 1);
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

static int load_floats(zip_t *archive, const char *path, const char *name, float *out,
                       int dimensions, const uint64_t *shape, RbmError *error)
{
    uint8_t *bytes;
    size_t size;
    int result = read_entry(archive, path, name, &bytes, &size, error);
    if (result < 0)
        return result;
    NpyHeader header;
    char reason[512];
    if (rbm_npy_parse_header(bytes, size, &header, reason, sizeof reason) < 0) {
        result = rbm_fail(error, -EINVAL, "%s: %s: %s", path, name, reason);
    } else if (header.type != NPY_F32 || header.dimensions != dimensions ||
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

static int load_string(zip_t *archive, const char *path, const char *name, char **out,
                       RbmError *error)
{
    uint8_t *bytes;
    size_t size;
    int result = read_entry(archive, path, name, &bytes, &size, error);
    if (result < 0)
        return result;
    NpyHeader header;
    char reason[512];
    if (rbm_npy_parse_header(bytes, size, &header, reason, sizeof reason) < 0) {
        free(bytes);
        return rbm_fail(error, -EINVAL, "%s: %s: %s", path, name, reason);
    }
    if (header.type != NPY_UNICODE || header.dimensions != 0 ||
        header.item_size / 4 > MAX_STRING_CHARACTERS) {
        free(bytes);
        return rbm_fail(error, -EINVAL, "%s: %s: expected a 0-d unicode string", path, name);
    }
    size_t characters = header.item_size / 4;
    char *text = malloc(characters * 4 + 1);
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

int rbm_model_load(RbmModel **out, const char *path, RbmError *error)
{
    *out = NULL;
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return rbm_fail(error, errno == ENOENT ? -ENOENT : -EINVAL, "%s: cannot open: %s", path,
                        strerror(errno));
    fclose(probe);
    int code = 0;
    zip_t *archive = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!archive) {
        zip_error_t detail;
        zip_error_init_with_code(&detail, code);
        int result = rbm_fail(error, -EINVAL, "%s: not a readable .npz model: %s", path,
                              zip_error_strerror(&detail));
        zip_error_fini(&detail);
        return result;
    }
    uint8_t *bytes;
    size_t size;
    NpyHeader header;
    char reason[512];
    int result = read_entry(archive, path, "weights.npy", &bytes, &size, error);
    if (result == 0) {
        if (rbm_npy_parse_header(bytes, size, &header, reason, sizeof reason) < 0)
            result = rbm_fail(error, -EINVAL, "%s: weights.npy: %s", path, reason);
        else if (header.type != NPY_F32 || header.dimensions != 2 || header.shape[0] == 0 ||
                 header.shape[1] == 0)
            result = rbm_fail(error, -EINVAL,
                              "%s: weights.npy: expected a 2-D float32 array (hidden, visible)",
                              path);
        free(bytes);
    }
    RbmModel *model = NULL;
    if (result == 0 &&
        rbm_model_new(&model, (int64_t)header.shape[1], (int64_t)header.shape[0]) != 0)
        result = rbm_fail(error, -EINVAL, "%s: weights.npy: shape (%llu, %llu) is too large",
                          path, (unsigned long long)header.shape[0],
                          (unsigned long long)header.shape[1]);
    if (result == 0) {
        uint64_t matrix[2] = {header.shape[0], header.shape[1]};
        result = load_floats(archive, path, "weights.npy", model->weights, 2, matrix, error);
    }
    if (result == 0)
        result = load_floats(archive, path, "hidden_bias.npy", model->hidden_bias, 1,
                             &header.shape[0], error);
    if (result == 0)
        result = load_floats(archive, path, "visible_bias.npy", model->visible_bias, 1,
                             &header.shape[1], error);
    if (result == 0)
        result = load_string(archive, path, "config.npy", &model->config_text, error);
    if (result == 0)
        result = load_string(archive, path, "metadata.npy", &model->metadata_json, error);
    zip_discard(archive);
    if (result != 0) {
        rbm_model_free(model);
        return result;
    }
    *out = model;
    return 0;
}
