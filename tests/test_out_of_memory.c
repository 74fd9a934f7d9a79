/* Out of memory, as SQLite tests it: run a whole job (config, CSV and .npy data, training with
 * checkpoints, saving, loading, resuming) with the Nth allocation failing, for N = 0, 1, 2...
 * until the job completes untouched. Every failure must come back as -ENOMEM with a message;
 * never a crash, never another error. Under AddressSanitizer (CI) leaks fail the run too. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "memory.h"
#include "partition.h"
#include "rbm/rbm.h"

static char directory[] = "/tmp/rbm-oom-XXXXXX";
static char csv_path[256], npy_path[256], model_path[256], checkpoint_path[256];

static void write_inputs(void)
{
    assert_non_null(mkdtemp(directory));
    snprintf(csv_path, sizeof csv_path, "%s/d.csv", directory);
    snprintf(npy_path, sizeof npy_path, "%s/d.npy", directory);
    snprintf(model_path, sizeof model_path, "%s/m.npz", directory);
    snprintf(checkpoint_path, sizeof checkpoint_path, "%s/m.ckpt", directory);
    FILE *csv = fopen(csv_path, "w");
    fprintf(csv, "label,a,b,c,d,e,f\n");
    for (int r = 0; r < 30; r++)
        fprintf(csv, "%d,%d,%d,%d,%d,%d,%d\n", r % 10, r * 7 % 256, r * 13 % 256, 255, 0,
                r * 31 % 256, 128);
    fclose(csv);
    /* a 20 x 6 float32 .npy */
    FILE *npy = fopen(npy_path, "wb");
    char header[128];
    memcpy(header, "\x93NUMPY\x01\x00\x76\x00", 10); /* version 1.0, 118 header bytes */
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (20, 6), }";
    memcpy(header + 10, dict, strlen(dict));
    memset(header + 10 + strlen(dict), ' ', 118 - strlen(dict) - 1);
    header[127] = '\n';
    fwrite(header, 1, 128, npy);
    for (int i = 0; i < 120; i++) {
        float value = (float)(i % 11) / 10.0f;
        fwrite(&value, sizeof value, 1, npy);
    }
    fclose(npy);
}

/* One whole job; returns 0, or the first error. */
static int job(RbmError *error)
{
    RbmSettings settings;
    rbm_default_settings(&settings);
    char config[1024];
    snprintf(config, sizeof config,
             "[data]\ntrain = %s\n[model]\nhidden = 5\n[train]\nepochs = 2\nbatch_size = 8\n"
             "chunk_rows = 3\nthreads = 2\nsplit = rows\n[output]\nmodel = %s\ncheckpoint = %s\n"
             "checkpoint_every = 1\n",
             csv_path, model_path, checkpoint_path);
    int result = rbm_settings_load_string(&settings, config, "oom.ini", error);
    if (result == 0)
        result = rbm_settings_override(&settings, "train.learning_rate=0.05", error);
    RbmDataset *csv = NULL, *npy = NULL;
    if (result == 0)
        result = rbm_dataset_load(&csv, settings.train_path, settings.format, 0, 0, error);
    if (result == 0)
        result = rbm_dataset_load(&npy, npy_path, RBM_FORMAT_AUTO, 0, 0, error);
    RbmModel *model = NULL, *loaded = NULL, *resumed = NULL;
    if (result == 0)
        result = rbm_train(&model, &settings, csv, NULL, error);
    if (result == 0)
        result = rbm_model_save(model, model_path, error);
    if (result == 0)
        result = rbm_model_load(&loaded, model_path, error);
    if (result == 0) {
        settings.epochs = 3;
        RbmTrainHooks hooks = {.resume = checkpoint_path};
        result = rbm_train(&resumed, &settings, csv, &hooks, error);
    }
    /* a stack with every training option and a validation set, then every use of a model */
    RbmModel *stack = NULL;
    float *features = NULL, *reconstructions = NULL, *samples = NULL;
    if (result == 0) {
        settings.epochs = 2;
        settings.layers = (RbmIntList){3, {6, 4, 3}};
        settings.cd_steps = 2;
        settings.persistent = settings.shuffle = 1;
        settings.sparsity_cost = 0.1;
        settings.visible_bias_init = RBM_VISIBLE_BIAS_DATA;
        settings.validation_fraction = 0.2;
        settings.split = RBM_SPLIT_HIDDEN; /* and the other split's buffers */
        settings.bit_counts = 1;           /* and the bit-count buffers */
        result = rbm_train(&stack, &settings, csv, NULL, error);
    }
    if (result == 0)
        result = rbm_model_save(stack, model_path, error);
    if (result == 0) {
        rbm_model_free(stack);
        stack = NULL;
        result = rbm_model_load(&stack, model_path, error);
    }
    if (result == 0)
        result = rbm_model_transform(stack, npy, 2, &features, error);
    if (result == 0)
        result = rbm_model_reconstruct(stack, npy, 2, &reconstructions, error);
    if (result == 0)
        result = rbm_model_sample(stack, 3, 4, 1, 2, &samples, error);
    RbmEvaluation evaluation;
    RbmAisSettings ais = {4, 30, 1, 2};
    if (result == 0)
        result = rbm_model_evaluate(stack, npy, &ais, &evaluation, error);
    if (result == 0) { /* AIS, which eval uses for models above 20 x 20 */
        const float base[6] = {0};
        double log_z = 0, log_z_stderr = 0;
        result = rbm_log_z_ais(stack, base, &ais, &log_z, &log_z_stderr, error);
    }
    if (result == 0)
        result = rbm_save_npy(model_path, features, 20, 3, error);
    free(features), free(reconstructions), free(samples);
    rbm_model_free(stack);
    rbm_model_free(resumed);
    rbm_model_free(loaded);
    rbm_model_free(model);
    rbm_dataset_free(npy);
    rbm_dataset_free(csv);
    return result;
}

static void test_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    write_inputs();
    RbmError error;
    rbm_test_fail_allocation(-1);
    int baseline = job(&error);
    if (baseline != 0)
        print_message("the job without failures: %s\n", error.message);
    assert_int_equal(baseline, 0); /* the job itself works */
    long total = rbm_test_allocations();
    long n = 0;
    for (;; n++) {
        unlink(checkpoint_path);
        memset(&error, 0, sizeof error);
        rbm_test_fail_allocation(n);
        int result = job(&error);
        int failed = rbm_test_allocation_failed();
        rbm_test_fail_allocation(-1);
        if (!failed) {
            assert_int_equal(result, 0);
            break;
        }
        if (result != -ENOMEM)
            print_message("allocation %ld: result %d: %s\n", n, result, error.message);
        assert_int_equal(result, -ENOMEM);
        assert_true(strlen(error.message) > 0);
    }
    print_message("%ld allocations in the job; each one failed in turn, cleanly\n", n);
    assert_true(n >= total - 1 && n > 30);
    unlink(csv_path), unlink(npy_path), unlink(model_path), unlink(checkpoint_path);
    rmdir(directory);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_failure_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
