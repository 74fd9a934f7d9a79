/* A checkpoint is an .npz like a model, with the velocities and a JSON state added:
 *   weights, hidden_bias, visible_bias                       the parameters
 *   velocity_weights, velocity_hidden_bias, velocity_visible_bias
 *   config.npy   the settings the result depends on (INI text)
 *   chains       the PCD chains' hidden states [batch_size][hidden] (persistent CD only)
 *   state.npy    JSON: format, version, cursor (layer, epoch, batch), partial sums (as exact
 *                hex floats), hashes
 * It is written like every output: temporary file, fsync, rename, fsync of the directory. */
#include "memory.h"
#include "checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "error.h"
#include "npz.h"
#include "settings_internal.h"

static uint64_t fnv1a(uint64_t hash, const void *bytes, size_t size)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ p[i]) * 0x100000001b3ULL;
    return hash;
}

uint64_t rbm_dataset_fingerprint(const RbmDataset *data)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    int64_t shape[2] = {data->rows, data->columns};
    hash = fnv1a(hash, shape, sizeof shape);
    size_t count = (size_t)(data->rows * data->columns);
    if (data->bytes) {
        hash = fnv1a(hash, data->byte_to_probability, sizeof data->byte_to_probability);
        hash = fnv1a(hash, data->bytes, count);
    } else {
        hash = fnv1a(hash, data->values, count * sizeof(float));
    }
    return hash;
}

static const char *const velocity_names[3] = {"velocity_weights.npy", "velocity_hidden_bias.npy",
                                              "velocity_visible_bias.npy"};
static const char *const parameter_names[3] = {"weights.npy", "hidden_bias.npy",
                                               "visible_bias.npy"};

int rbm_checkpoint_save(const char *path, const RbmSettings *settings, uint64_t data_fingerprint,
                        const Shape *shape, const Parameters *params, const Parameters *velocity,
                        const float *chains, const Progress *progress, RbmError *error)
{
    NpzEntry entries[9] = {{0}};
    int count = 8;
    uint64_t shapes[3][2] = {{(uint64_t)shape->hidden, (uint64_t)shape->visible},
                             {(uint64_t)shape->hidden, 0},
                             {(uint64_t)shape->visible, 0}};
    const Parameters *sets[2] = {params, velocity};
    const char *const *names[2] = {parameter_names, velocity_names};
    int result = 0;
    for (int s = 0; s < 2 && result == 0; s++) {
        const float *arrays[3] = {sets[s]->weights, sets[s]->hidden_bias, sets[s]->visible_bias};
        for (int a = 0; a < 3 && result == 0; a++)
            result = rbm_npz_float_entry(&entries[3 * s + a], names[s][a], arrays[a],
                                         a == 0 ? 2 : 1, shapes[a]);
    }
    char *config = rbm_settings_text(settings, RBM_KEYS_RESULT);
    char state[1024];
    snprintf(state, sizeof state,
             "{\"format\": \"rbm-checkpoint\", \"format_version\": %d, \"rbm_version\": \"%s\", "
             "\"layer\": %" PRId64 ", \"epoch\": %" PRId64 ", \"batch\": %" PRId64 ", "
             "\"squared_error\": \"%a\", "
             "\"last_epoch_error\": \"%a\", \"data_fingerprint\": \"%016" PRIx64 "\", "
             "\"visible\": %" PRId64 ", \"hidden\": %" PRId64 "}",
             CHECKPOINT_FORMAT_VERSION, rbm_version(), progress->layer, progress->epoch,
             progress->batch,
             progress->squared_error, progress->last_epoch_error, data_fingerprint,
             shape->visible, shape->hidden);
    if (result == 0 && config)
        result = rbm_npz_string_entry(&entries[6], "config.npy", config);
    if (result == 0)
        result = rbm_npz_string_entry(&entries[7], "state.npy", state);
    if (result == 0 && shape->persistent) {
        uint64_t chain_shape[2] = {(uint64_t)shape->batch_size, (uint64_t)shape->hidden};
        result = rbm_npz_float_entry(&entries[count++], "chains.npy", chains, 2, chain_shape);
    }
    if (result != 0 || !config)
        result = rbm_fail(error, -ENOMEM, "%s: out of memory", path);
    else
        result = rbm_npz_save(path, entries, count, error);
    free(config);
    rbm_npz_free_entries(entries, count);
    return result;
}

/* The text after "key": in flat JSON written above, or NULL. */
static const char *json_field(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *at = strstr(json, pattern);
    return at ? at + strlen(pattern) : NULL;
}

static int json_integer(const char *json, const char *key, int64_t *out)
{
    const char *at = json_field(json, key);
    char *end;
    if (!at)
        return -1;
    long long value = strtoll(at, &end, 10);
    if (end == at || (*end != ',' && *end != '}'))
        return -1;
    *out = value;
    return 0;
}

static int json_hex_double(const char *json, const char *key, double *out)
{
    const char *at = json_field(json, key);
    char *end;
    if (!at || *at != '"')
        return -1;
    *out = strtod(at + 1, &end);
    return end != at + 1 && *end == '"' ? 0 : -1;
}

static int parse_state(const char *path, const char *state, const Shape *shape,
                       uint64_t data_fingerprint, Progress *progress, RbmError *error)
{
    int64_t version, visible, hidden, layer;
    const char *format = json_field(state, "format");
    const char *fingerprint = json_field(state, "data_fingerprint");
    if (!format || strncmp(format, "\"rbm-checkpoint\"", 16) != 0)
        return rbm_fail(error, -EINVAL, "%s: not an rbm checkpoint (state.npy has no format)",
                        path);
    if (json_integer(state, "format_version", &version) < 0 ||
        version != CHECKPOINT_FORMAT_VERSION)
        return rbm_fail(error, -EINVAL, "%s: checkpoint format version %s is not %d", path,
                        json_field(state, "format_version") ? "other" : "missing",
                        CHECKPOINT_FORMAT_VERSION);
    if (json_integer(state, "layer", &layer) < 0 || json_integer(state, "epoch", &progress->epoch) < 0 ||
        json_integer(state, "batch", &progress->batch) < 0 ||
        json_integer(state, "visible", &visible) < 0 ||
        json_integer(state, "hidden", &hidden) < 0 ||
        json_hex_double(state, "squared_error", &progress->squared_error) < 0 ||
        json_hex_double(state, "last_epoch_error", &progress->last_epoch_error) < 0 ||
        !fingerprint)
        return rbm_fail(error, -EINVAL, "%s: state.npy is incomplete or malformed", path);
    if (layer != progress->layer)
        return rbm_fail(error, -EINVAL, "%s: the checkpoint is for RBM %lld of the stack, not %lld",
                        path, (long long)layer, (long long)progress->layer);
    if (visible != shape->visible || hidden != shape->hidden)
        return rbm_fail(error, -EINVAL,
                        "%s: the checkpoint is for %lld visible x %lld hidden, this run is %lld x "
                        "%lld",
                        path, (long long)visible, (long long)hidden, (long long)shape->visible,
                        (long long)shape->hidden);
    char expected[20];
    snprintf(expected, sizeof expected, "\"%016" PRIx64 "\"", data_fingerprint);
    if (strncmp(fingerprint, expected, 18) != 0)
        return rbm_fail(error, -EINVAL,
                        "%s: the checkpoint was made on other data (fingerprint %.18s, this "
                        "data %s): data.train, data.limit, data.scale or the file changed",
                        path, fingerprint, expected);
    if (progress->epoch < 0 || progress->batch < 0 || !isfinite(progress->squared_error))
        return rbm_fail(error, -EINVAL, "%s: state.npy: cursor out of range", path);
    return 0;
}

int rbm_checkpoint_load(const char *path, const RbmSettings *settings, uint64_t data_fingerprint,
                        const Shape *shape, Parameters *params, Parameters *velocity,
                        float *chains, Progress *progress, RbmError *error)
{
    NpzReader reader;
    int result = rbm_npz_open(&reader, path, error);
    if (result < 0)
        return result;
    char *state = NULL, *config = NULL;
    result = rbm_npz_read_string(&reader, "config.npy", &config, error);
    if (result == 0) {
        RbmSettings saved;
        rbm_default_settings(&saved);
        RbmError detail = {{0}};
        char differences[1024];
        int parsed = rbm_settings_load_string(&saved, config, "checkpoint config", &detail);
        if (parsed < 0)
            result = rbm_fail(error, parsed == -ENOMEM ? -ENOMEM : -EINVAL, "%s: config.npy: %s",
                              path, detail.message);
        else if (rbm_settings_differences(&saved, settings, differences, sizeof differences) > 0)
            result = rbm_fail(error, -EINVAL,
                              "%s: the checkpoint was made with other settings, which would "
                              "change the result: %s",
                              path, differences);
    }
    if (result == 0)
        result = rbm_npz_read_string(&reader, "state.npy", &state, error);
    if (result == 0)
        result = parse_state(path, state, shape, data_fingerprint, progress, error);
    uint64_t shapes[3][2] = {{(uint64_t)shape->hidden, (uint64_t)shape->visible},
                             {(uint64_t)shape->hidden, 0},
                             {(uint64_t)shape->visible, 0}};
    Parameters *sets[2] = {params, velocity};
    const char *const *names[2] = {parameter_names, velocity_names};
    for (int s = 0; s < 2 && result == 0; s++) {
        float *arrays[3] = {sets[s]->weights, sets[s]->hidden_bias, sets[s]->visible_bias};
        for (int a = 0; a < 3 && result == 0; a++)
            result = rbm_npz_read_floats(&reader, names[s][a], arrays[a], a == 0 ? 2 : 1,
                                         shapes[a], error);
    }
    if (result == 0 && shape->persistent) {
        uint64_t chain_shape[2] = {(uint64_t)shape->batch_size, (uint64_t)shape->hidden};
        result = rbm_npz_read_floats(&reader, "chains.npy", chains, 2, chain_shape, error);
        /* hidden samples: the sums of the ones (product_ones.h) take any nonzero for a 1 */
        for (int64_t i = 0; result == 0 && i < shape->batch_size * shape->hidden; i++)
            if (chains[i] != 0.0f && chains[i] != 1.0f)
                result = rbm_fail(error, -EINVAL,
                                  "%s: chains.npy: element %lld is %g, not a 0/1 sample", path,
                                  (long long)i, (double)chains[i]);
    }
    free(state);
    free(config);
    rbm_npz_close(&reader);
    return result;
}

int rbm_checkpoint_layer(const char *path, int64_t *layer, RbmError *error)
{
    NpzReader reader;
    int result = rbm_npz_open(&reader, path, error);
    if (result < 0)
        return result;
    char *state = NULL;
    result = rbm_npz_read_string(&reader, "state.npy", &state, error);
    if (result == 0 && json_integer(state, "layer", layer) < 0)
        result = rbm_fail(error, -EINVAL, "%s: state.npy has no layer", path);
    free(state);
    rbm_npz_close(&reader);
    return result;
}
