/* Model files: a NumPy .npz that numpy.load opens:
 *   weights.npy       float32 [hidden, visible]
 *   hidden_bias.npy   float32 [hidden]
 *   visible_bias.npy  float32 [visible]
 *   config.npy        0-d unicode string: the settings the result depends on, as INI text
 *   metadata.npy      0-d unicode string: JSON (format version, seed, epochs, metrics...)
 * and for each further RBM k = 2, 3... of a stack, k's hidden units above k-1's:
 *   layerK_weights.npy, layerK_hidden_bias.npy, layerK_visible_bias.npy
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "error.h"
#include "npz.h"
#include "rbm/rbm.h"

int rbm_model_new(RbmModel **out, int64_t visible, int64_t hidden)
{
    *out = NULL;
    if (visible <= 0 || hidden <= 0 || visible > (1 << 24) || hidden > (1 << 24) ||
        (uint64_t)visible * (uint64_t)hidden > ((uint64_t)1 << 34))
        return -EINVAL;
    RbmModel *model = rbm_calloc(1, sizeof *model);
    size_t count = (size_t)(hidden * visible + hidden + visible);
    float *memory = rbm_calloc(count, sizeof(float));
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
    while (model) {
        RbmModel *next = model->next;
        free(model->weights);
        free(model->config_text);
        free(model->metadata_json);
        free(model);
        model = next;
    }
}

int64_t rbm_model_layers(const RbmModel *model)
{
    int64_t count = 0;
    for (; model; model = model->next)
        count++;
    return count;
}

/* "weights.npy" for the first RBM, "layer3_weights.npy" for the third */
static void array_name(char *out, size_t size, int64_t layer, const char *name)
{
    if (layer == 1)
        snprintf(out, size, "%s.npy", name);
    else
        snprintf(out, size, "layer%lld_%s.npy", (long long)layer, name);
}

int rbm_model_save(const RbmModel *model, const char *path, RbmError *error)
{
    NpzEntry entries[2 + 3 * RBM_MAX_LAYERS] = {{0}};
    char names[3 * RBM_MAX_LAYERS][64]; /* the entries point at their names */
    int count = 0, result = 0;
    if (rbm_model_layers(model) > RBM_MAX_LAYERS)
        return rbm_fail(error, -EINVAL, "%s: a stack of more than %d RBMs", path, RBM_MAX_LAYERS);
    int64_t layer = 1;
    for (const RbmModel *rbm = model; rbm && result == 0; rbm = rbm->next, layer++) {
        uint64_t matrix[2] = {(uint64_t)rbm->hidden, (uint64_t)rbm->visible};
        uint64_t hidden[1] = {(uint64_t)rbm->hidden}, visible[1] = {(uint64_t)rbm->visible};
        array_name(names[count], sizeof names[count], layer, "weights");
        result = rbm_npz_float_entry(&entries[count], names[count], rbm->weights, 2, matrix);
        count++;
        array_name(names[count], sizeof names[count], layer, "hidden_bias");
        if (result == 0)
            result = rbm_npz_float_entry(&entries[count], names[count], rbm->hidden_bias, 1, hidden);
        count++;
        array_name(names[count], sizeof names[count], layer, "visible_bias");
        if (result == 0)
            result = rbm_npz_float_entry(&entries[count], names[count], rbm->visible_bias, 1,
                                         visible);
        count++;
    }
    if (result == 0)
        result = rbm_npz_string_entry(&entries[count++], "config.npy",
                                      model->config_text ? model->config_text : "");
    if (result == 0)
        result = rbm_npz_string_entry(&entries[count++], "metadata.npy",
                                      model->metadata_json ? model->metadata_json : "{}");
    if (result != 0)
        result = rbm_fail(error, -ENOMEM, "%s: out of memory", path);
    else
        result = rbm_npz_save(path, entries, count, error);
    rbm_npz_free_entries(entries, count);
    return result;
}

/* RBM `layer` of the file; its visible units must be `visible` (0: any). */
static int load_layer(RbmModel **out, NpzReader *reader, const char *path, int64_t layer,
                      int64_t visible, RbmError *error)
{
    *out = NULL;
    char weights[64], hidden_bias[64], visible_bias[64];
    array_name(weights, sizeof weights, layer, "weights");
    array_name(hidden_bias, sizeof hidden_bias, layer, "hidden_bias");
    array_name(visible_bias, sizeof visible_bias, layer, "visible_bias");
    NpyHeader header;
    int result = rbm_npz_read_header(reader, weights, &header, error);
    if (result == 0 && (header.type != NPY_F32 || header.dimensions != 2 ||
                        header.shape[0] == 0 || header.shape[1] == 0))
        result = rbm_fail(error, -EINVAL,
                          "%s: %s: expected a 2-D float32 array (hidden, visible)", path, weights);
    if (result == 0 && visible && header.shape[1] != (uint64_t)visible)
        result = rbm_fail(error, -EINVAL,
                          "%s: %s has %llu visible units, but the RBM below has %lld hidden",
                          path, weights, (unsigned long long)header.shape[1], (long long)visible);
    RbmModel *model = NULL;
    if (result == 0) {
        result = rbm_model_new(&model, (int64_t)header.shape[1], (int64_t)header.shape[0]);
        if (result == -ENOMEM)
            rbm_fail(error, result, "%s: out of memory for the model", path);
        else if (result != 0)
            result = rbm_fail(error, -EINVAL, "%s: %s: shape (%llu, %llu) is too large", path,
                              weights, (unsigned long long)header.shape[0],
                              (unsigned long long)header.shape[1]);
    }
    if (result == 0)
        result = rbm_npz_read_floats(reader, weights, model->weights, 2, header.shape, error);
    if (result == 0)
        result = rbm_npz_read_floats(reader, hidden_bias, model->hidden_bias, 1,
                                     &header.shape[0], error);
    if (result == 0)
        result = rbm_npz_read_floats(reader, visible_bias, model->visible_bias, 1,
                                     &header.shape[1], error);
    if (result != 0) {
        rbm_model_free(model);
        return result;
    }
    *out = model;
    return 0;
}

int rbm_model_load(RbmModel **out, const char *path, RbmError *error)
{
    *out = NULL;
    NpzReader reader;
    int result = rbm_npz_open(&reader, path, error);
    if (result < 0)
        return result;
    RbmModel *model = NULL;
    result = load_layer(&model, &reader, path, 1, 0, error);
    RbmModel *top = model;
    for (int64_t layer = 2; result == 0; layer++) {
        char name[64];
        array_name(name, sizeof name, layer, "weights");
        if (!rbm_npz_has(&reader, name))
            break;
        if (layer > RBM_MAX_LAYERS)
            result = rbm_fail(error, -EINVAL, "%s: a stack of more than %d RBMs", path,
                              RBM_MAX_LAYERS);
        else if ((result = load_layer(&top->next, &reader, path, layer, top->hidden, error)) == 0)
            top = top->next;
    }
    if (result == 0)
        result = rbm_npz_read_string(&reader, "config.npy", &model->config_text, error);
    if (result == 0)
        result = rbm_npz_read_string(&reader, "metadata.npy", &model->metadata_json, error);
    rbm_npz_close(&reader);
    if (result != 0) {
        rbm_model_free(model);
        return result;
    }
    *out = model;
    return 0;
}

typedef struct BytesJob {
    const char *path; /* what messages name */
    const uint8_t *bytes;
    size_t size;
} BytesJob;

static int write_bytes(const char *temp_path, void *user, RbmError *error)
{
    const BytesJob *job = user;
    FILE *file = fopen(temp_path, "wb");
    if (!file)
        return rbm_fail(error, -EIO, "%s: cannot create: %s", job->path, strerror(errno));
    size_t written = fwrite(job->bytes, 1, job->size, file);
    int failed = written != job->size || fflush(file) != 0;
    int saved = errno;
    if (fclose(file) != 0 && !failed)
        failed = 1, saved = errno;
    if (failed)
        return rbm_fail(error, saved == ENOSPC ? -ENOSPC : -EIO, "%s: cannot write: %s",
                        job->path, strerror(saved ? saved : EIO));
    return 0;
}

int rbm_save_npy(const char *path, const float *values, int64_t rows, int64_t columns,
                 RbmError *error)
{
    NpzEntry entry = {0};
    uint64_t shape[2] = {(uint64_t)rows, (uint64_t)columns};
    if (rbm_npz_float_entry(&entry, "array.npy", values, 2, shape) != 0)
        return rbm_fail(error, -ENOMEM, "%s: out of memory", path);
    BytesJob job = {path, entry.bytes, entry.size};
    int result = rbm_write_atomically(path, write_bytes, &job, error);
    rbm_npz_free_entries(&entry, 1);
    return result;
}
