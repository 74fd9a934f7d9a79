/* rbm info MODEL */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_info_usage(FILE *out)
{
    fprintf(out, "usage: rbm info MODEL\n\n"
                 "Prints a model's shapes, the config it was trained with, its seed, the epochs\n"
                 "trained and its final metrics.\n");
}

/* The text of a number or string value of `key` in flat JSON written by rbm, or "?". */
static void json_value(const char *json, const char *key, char *out, size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *at = json ? strstr(json, pattern) : NULL;
    snprintf(out, size, "?");
    if (!at)
        return;
    at += strlen(pattern);
    if (*at == '"')
        at++;
    size_t length = strcspn(at, "\",}");
    snprintf(out, size, "%.*s", (int)(length < size ? length : size - 1), at);
}

int cli_info(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        cli_info_usage(stdout);
        return EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        cli_info_usage(stderr);
        return EXIT_BAD_INPUT;
    }
    RbmError error = {{0}};
    RbmModel *model = NULL;
    int result = rbm_model_load(&model, argv[1], &error);
    if (result != 0)
        return cli_report(result, &error);
    char seed[32], epochs[32], samples[32], recon[32], version[32];
    json_value(model->metadata_json, "seed", seed, sizeof seed);
    json_value(model->metadata_json, "epochs_trained", epochs, sizeof epochs);
    json_value(model->metadata_json, "samples", samples, sizeof samples);
    json_value(model->metadata_json, "final_recon_error", recon, sizeof recon);
    json_value(model->metadata_json, "rbm_version", version, sizeof version);
    printf("model: %s\n", argv[1]);
    int64_t layer = 1;
    for (const RbmModel *rbm = model; rbm; rbm = rbm->next, layer++)
        printf("shapes%s: weights %lld x %lld (hidden x visible), hidden_bias %lld, "
               "visible_bias %lld\n",
               model->next ? (layer == 1 ? " (RBM 1 of a stack)" : " (the next RBM)") : "",
               (long long)rbm->hidden, (long long)rbm->visible, (long long)rbm->hidden,
               (long long)rbm->visible);
    printf("seed: %s\n", seed);
    printf("epochs trained: %s on %s samples\n", epochs, samples);
    printf("final recon_error: %s\n", recon);
    printf("trained by: rbm %s\n", version);
    printf("metadata: %s\n", model->metadata_json ? model->metadata_json : "");
    printf("config:\n%s", model->config_text ? model->config_text : "");
    rbm_model_free(model);
    return EXIT_OK;
}
