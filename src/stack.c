/*
 * rbm_train: one RBM, or a stack of them (a Deep Belief Network) trained greedily, RBM k on the
 * hidden probabilities of RBM k-1; and the validation rows the monitors use.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "data/dataset.h"
#include "error.h"
#include "memory.h"
#include "rbm/rbm.h"
#include "settings_internal.h"
#include "trainer.h"
#include "transform.h"

/* The settings of RBM `layer` (1-based) of a stack. */
static RbmSettings layer_settings(const RbmSettings *settings, int64_t layer)
{
    RbmSettings layer_settings = *settings;
    layer_settings.hidden = settings->layers.values[layer];
    if (settings->layer_epochs.count)
        layer_settings.epochs = settings->layer_epochs.values[layer - 1];
    return layer_settings;
}

/* A stack keeps each finished RBM beside its checkpoint, CHECKPOINT.layerN.npz, so that a run
 * stopped in a higher layer resumes there without training the lower ones again. */
static void layer_file(char out[RBM_PATH_MAX + 32], const RbmSettings *settings, int64_t layer)
{
    char checkpoint[RBM_PATH_MAX + 8];
    rbm_checkpoint_path(settings, checkpoint);
    snprintf(out, RBM_PATH_MAX + 32, "%s.layer%lld.npz", checkpoint, (long long)layer);
}

static int load_finished_layer(RbmModel **out, const char *path, const RbmSettings *settings,
                               int64_t visible, RbmError *error)
{
    int result = rbm_model_load(out, path, error);
    if (result < 0)
        return result;
    char *expected = rbm_settings_text(settings, RBM_KEYS_RESULT);
    if (!expected)
        result = rbm_fail(error, -ENOMEM, "out of memory");
    else if ((*out)->next || (*out)->visible != visible || (*out)->hidden != settings->hidden ||
             !(*out)->config_text || strcmp((*out)->config_text, expected) != 0)
        result = rbm_fail(error, -EINVAL,
                          "%s: this finished layer was trained with other settings or shapes "
                          "than the run being resumed",
                          path);
    free(expected);
    if (result < 0) {
        rbm_model_free(*out);
        *out = NULL;
    }
    return result;
}

static void format_layers(char *out, size_t size, const RbmIntList *list)
{
    size_t length = 0;
    out[0] = '\0';
    for (int64_t i = 0; i < list->count && length < size; i++)
        length += (size_t)snprintf(out + length, size - length, "%s%lld", i ? ", " : "",
                                   (long long)list->values[i]);
}

/* The number after "key": in a flat JSON text, or NaN. */
static double json_number(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *at = json ? strstr(json, pattern) : NULL;
    return at ? strtod(at + strlen(pattern), NULL) : NAN;
}

static char *stack_metadata(const RbmSettings *settings, const RbmDataset *data,
                            int64_t layers_done, const int64_t *epochs_done, double recon_error)
{
    char *text = rbm_malloc(2048);
    if (!text)
        return NULL;
    char epochs[512] = "";
    size_t length = 0;
    for (int64_t l = 0; l < layers_done && length < sizeof epochs; l++)
        length += (size_t)snprintf(epochs + length, sizeof epochs - length, "%s%lld",
                                   l ? ", " : "", (long long)epochs_done[l]);
    char error_text[32] = "null";
    if (isfinite(recon_error))
        snprintf(error_text, sizeof error_text, "%.9g", recon_error);
    char layers[256];
    format_layers(layers, sizeof layers, &settings->layers);
    /* epochs_trained: the last trained RBM's, as for one RBM; layer_epochs_trained: each's */
    snprintf(text, 2048,
             "{\"format\": \"rbm-model\", \"format_version\": 1, \"rbm_version\": \"%s\", "
             "\"layers\": [%s], \"layers_trained\": %lld, \"samples\": %lld, \"seed\": %llu, "
             "\"epochs_trained\": %lld, \"layer_epochs_trained\": [%s], "
             "\"final_recon_error\": %s}",
             rbm_version(), layers, (long long)layers_done, (long long)data->rows,
             (unsigned long long)settings->seed,
             (long long)(layers_done ? epochs_done[layers_done - 1] : 0), epochs, error_text);
    return text;
}

/* Greedy layer-wise training of a Deep Belief Network: RBM 1 on the data, RBM k on the
 * hidden probabilities of RBM k-1. */
static int train_stack(RbmModel **out, const RbmSettings *settings, const RbmDataset *data,
                       const RbmDataset *validation, const RbmTrainHooks *hooks, RbmError *error)
{
    const int64_t layers = settings->layers.count - 1;
    if (settings->layers.values[0] != data->columns)
        return rbm_fail(error, -EINVAL,
                        "model.layers starts with %lld visible units, but %s has %lld columns",
                        (long long)settings->layers.values[0], data->path,
                        (long long)data->columns);
    int64_t resume_layer = 1;
    int result = hooks->resume ? rbm_checkpoint_layer(hooks->resume, &resume_layer, error) : 0;
    if (result == 0 && (resume_layer < 1 || resume_layer > layers))
        result = rbm_fail(error, -EINVAL, "%s: a checkpoint of RBM %lld, but model.layers has %lld",
                          hooks->resume, (long long)resume_layer, (long long)layers);
    const int threads = settings->threads > 0 ? (int)settings->threads : rbm_default_threads();
    RbmModel *stack = NULL, **tail = &stack, *rbm = NULL;
    const RbmDataset *input = data, *input_validation = validation;
    RbmDataset *owned_input = NULL, *owned_validation = NULL;
    double last_error = NAN;
    int64_t epochs_done[RBM_MAX_LAYERS] = {0};
    int64_t layer = 1;
    for (; layer <= layers && result == 0; layer++) {
        RbmSettings rbm_settings = layer_settings(settings, layer);
        char path[RBM_PATH_MAX + 32];
        layer_file(path, settings, layer);
        if (layer < resume_layer) {
            result = load_finished_layer(&rbm, path, &rbm_settings, input->columns, error);
        } else {
            RbmTrainHooks layer_hooks = *hooks;
            layer_hooks.resume = layer == resume_layer ? hooks->resume : NULL;
            LayerJob job = {layer, layers, input_validation, false};
            result = rbm_train_layer(&rbm, &rbm_settings, input, &layer_hooks, &job, error);
            if (result == 0 && layer < layers)
                result = rbm_model_save(rbm, path, error);
        }
        if (rbm) {
            last_error = json_number(rbm->metadata_json, "final_recon_error");
            double epochs = json_number(rbm->metadata_json, "epochs_trained");
            epochs_done[layer - 1] = isfinite(epochs) ? (int64_t)epochs : 0;
            free(rbm->config_text); /* the stack's config and metadata go in the first RBM */
            free(rbm->metadata_json);
            rbm->config_text = rbm->metadata_json = NULL;
            *tail = rbm;
            tail = &rbm->next;
        }
        if (result != 0)
            break;
        if (layer < layers) {
            RbmDataset *next = NULL, *next_validation = NULL;
            result = rbm_layer_features(&next, rbm, input, threads, error);
            if (result == 0 && input_validation)
                result = rbm_layer_features(&next_validation, rbm, input_validation, threads, error);
            rbm_dataset_free(owned_input);
            rbm_dataset_free(owned_validation);
            owned_input = next;
            owned_validation = next_validation;
            input = next;
            input_validation = next_validation;
        }
    }
    rbm_dataset_free(owned_input);
    rbm_dataset_free(owned_validation);
    if (stack && (result == 0 || result == -EINTR)) {
        stack->config_text = rbm_settings_text(settings, RBM_KEYS_RESULT);
        /* stopped inside RBM k: the stack holds RBMs 1..k, k partly trained; only the finished
         * ones count as layers_trained */
        stack->metadata_json = stack_metadata(settings, data, result == 0 ? layers : layer - 1,
                                              epochs_done, last_error);
        if (!stack->config_text || !stack->metadata_json)
            result = rbm_fail(error, -ENOMEM, "out of memory");
    }
    if (result != 0 && result != -EINTR) {
        rbm_model_free(stack);
        return result;
    }
    *out = stack;
    return result;
}

int rbm_train(RbmModel **out, const RbmSettings *settings, const RbmDataset *data,
              const RbmTrainHooks *hooks, RbmError *error)
{
    *out = NULL;
    RbmTrainHooks no_hooks = {0};
    if (!hooks)
        hooks = &no_hooks;
    int result = rbm_settings_check(settings, error);
    if (result < 0)
        return result;
    if ((result = rbm_check_blas(error)) < 0)
        return result;
    const RbmDataset *train = data, *validation = hooks->validation;
    RbmDataset *train_part = NULL, *held_out = NULL;
    if (settings->validation_fraction > 0 && hooks->validation)
        return rbm_fail(error, -EINVAL, "data.validation_fraction is set and a validation data "
                                        "set was given too: choose one");
    if (settings->validation_fraction > 0) {
        int64_t held = (int64_t)((double)data->rows * settings->validation_fraction);
        if (held < 1 || held >= data->rows)
            return rbm_fail(error, -EINVAL,
                            "data.validation_fraction = %g of %lld rows leaves no validation rows "
                            "or no training rows",
                            settings->validation_fraction, (long long)data->rows);
        if (rbm_dataset_slice(&train_part, data, 0, data->rows - held) < 0 ||
            rbm_dataset_slice(&held_out, data, data->rows - held, held) < 0) {
            rbm_dataset_free(train_part);
            return rbm_fail(error, -ENOMEM, "out of memory");
        }
        train = train_part;
        validation = held_out;
    }
    if (settings->layers.count == 0) {
        LayerJob job = {1, 1, validation, false};
        result = rbm_train_layer(out, settings, train, hooks, &job, error);
    } else {
        result = train_stack(out, settings, train, validation, hooks, error);
    }
    rbm_dataset_free(held_out);
    rbm_dataset_free(train_part);
    return result;
}

