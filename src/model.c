/* Model files: a NumPy .npz that numpy.load opens:
 *   weights.npy       float32 [hidden, visible]
 *   hidden_bias.npy   float32 [hidden]
 *   visible_bias.npy  float32 [visible]
 *   config.npy        0-d unicode string: the settings the result depends on, as INI text
 *   metadata.npy      0-d unicode string: JSON (format version, seed, epochs, metrics...)
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
    if (!model)
        return;
    free(model->weights);
    free(model->config_text);
    free(model->metadata_json);
    free(model);
}

int rbm_model_save(const RbmModel *model, const char *path, RbmError *error)
{
    NpzEntry entries[5] = {{0}};
    uint64_t matrix[2] = {(uint64_t)model->hidden, (uint64_t)model->visible};
    uint64_t hidden[1] = {(uint64_t)model->hidden}, visible[1] = {(uint64_t)model->visible};
    int result = rbm_npz_float_entry(&entries[0], "weights.npy", model->weights, 2, matrix);
    if (result == 0)
        result = rbm_npz_float_entry(&entries[1], "hidden_bias.npy", model->hidden_bias, 1, hidden);
    if (result == 0)
        result = rbm_npz_float_entry(&entries[2], "visible_bias.npy", model->visible_bias, 1,
                                     visible);
    if (result == 0)
        result = rbm_npz_string_entry(&entries[3], "config.npy",
                                      model->config_text ? model->config_text : "");
    if (result == 0)
        result = rbm_npz_string_entry(&entries[4], "metadata.npy",
                                      model->metadata_json ? model->metadata_json : "{}");
    if (result != 0)
        result = rbm_fail(error, -ENOMEM, "%s: out of memory", path);
    else
        result = rbm_npz_save(path, entries, 5, error);
    rbm_npz_free_entries(entries, 5);
    return result;
}

int rbm_model_load(RbmModel **out, const char *path, RbmError *error)
{
    *out = NULL;
    NpzReader reader;
    int result = rbm_npz_open(&reader, path, error);
    if (result < 0)
        return result;
    NpyHeader header;
    result = rbm_npz_read_header(&reader, "weights.npy", &header, error);
    if (result == 0 && (header.type != NPY_F32 || header.dimensions != 2 ||
                        header.shape[0] == 0 || header.shape[1] == 0))
        result = rbm_fail(error, -EINVAL,
                          "%s: weights.npy: expected a 2-D float32 array (hidden, visible)", path);
    RbmModel *model = NULL;
    if (result == 0) {
        result = rbm_model_new(&model, (int64_t)header.shape[1], (int64_t)header.shape[0]);
        if (result == -ENOMEM)
            rbm_fail(error, result, "%s: out of memory for the model", path);
        else if (result != 0)
            result = rbm_fail(error, -EINVAL, "%s: weights.npy: shape (%llu, %llu) is too large",
                              path, (unsigned long long)header.shape[0],
                              (unsigned long long)header.shape[1]);
    }
    if (result == 0)
        result = rbm_npz_read_floats(&reader, "weights.npy", model->weights, 2, header.shape,
                                     error);
    if (result == 0)
        result = rbm_npz_read_floats(&reader, "hidden_bias.npy", model->hidden_bias, 1,
                                     &header.shape[0], error);
    if (result == 0)
        result = rbm_npz_read_floats(&reader, "visible_bias.npy", model->visible_bias, 1,
                                     &header.shape[1], error);
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
