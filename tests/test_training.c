/* The optimised trainer against the plain-loop reference, and the promise that the thread
 * count never changes a bit of the result. */
#include <cblas.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blas_guard.h"
#include "data/dataset.h"
#include "pcg32.h"
#include "rbm/rbm.h"
#include "reference_cd.h"

/* A data set of probabilities: a mix of exact 0s and 1s and fractions, as images have. When
 * eight_bit, it is stored as bytes (value / 255) like IDX data. */
static RbmDataset *make_dataset(int64_t rows, int64_t columns, uint64_t seed, int eight_bit)
{
    RbmDataset *data = calloc(1, sizeof *data);
    data->rows = rows;
    data->columns = columns;
    data->path = strdup("memory");
    Pcg32 rng;
    pcg32_seed(&rng, seed, 99);
    size_t count = (size_t)(rows * columns);
    if (eight_bit) {
        data->bytes = malloc(count);
        data->scale = 255;
        for (int v = 0; v < 256; v++)
            data->byte_to_probability[v] = (float)(v / 255.0);
        for (size_t i = 0; i < count; i++) {
            uint32_t r = pcg32_next(&rng);
            data->bytes[i] = (uint8_t)(r % 3 == 0 ? 0 : r % 3 == 1 ? 255 : (r >> 8) & 0xff);
        }
    } else {
        data->values = malloc(count * sizeof(float));
        data->scale = 1;
        for (size_t i = 0; i < count; i++) {
            uint32_t r = pcg32_next(&rng);
            data->values[i] = r % 3 == 0 ? 0.0f : r % 3 == 1 ? 1.0f : pcg32_to_uniform(r);
        }
    }
    return data;
}

static void small_settings(RbmSettings *s)
{
    rbm_default_settings(s);
    strcpy(s->train_path, "memory");
    s->hidden = 8;
    s->batch_size = 10;
    s->chunk_rows = 3;
    s->update_strips = 3;
    s->epochs = 4;
    s->weight_decay = 0.001;
    s->threads = 2;
}

static void compare_with_reference(int eight_bit)
{
    RbmDataset *data = make_dataset(45, 20, 7, eight_bit); /* last batch: 5 rows */
    RbmSettings settings;
    small_settings(&settings);
    RbmError error = {{0}};
    RbmModel *model = NULL;
    assert_int_equal(rbm_train(&model, &settings, data, NULL, &error), 0);

    float *dense = malloc((size_t)(data->rows * data->columns) * sizeof(float));
    for (int64_t r = 0; r < data->rows; r++)
        rbm_dataset_row(data, r, dense + r * data->columns);
    ReferenceRun run = {data->rows, data->columns, settings.hidden, settings.batch_size,
                        settings.epochs, settings.learning_rate, settings.momentum,
                        settings.weight_decay, settings.init_std, settings.seed, dense};
    float W[8 * 20], hb[8], vb[20];
    reference_train(&run, W, hb, vb);
    double worst = 0, moved = 0;
    for (int i = 0; i < 8 * 20; i++) {
        worst = fmax(worst, fabs((double)W[i] - model->weights[i]));
        moved = fmax(moved, fabs((double)W[i]));
    }
    for (int i = 0; i < 8; i++)
        worst = fmax(worst, fabs((double)hb[i] - model->hidden_bias[i]));
    for (int i = 0; i < 20; i++)
        worst = fmax(worst, fabs((double)vb[i] - model->visible_bias[i]));
    print_message("largest difference from the reference: %g (weights up to %g)\n", worst, moved);
    assert_true(worst < 1e-5);
    assert_true(moved > 0.05); /* training moved the weights well beyond their start */
    free(dense);
    rbm_model_free(model);
    rbm_dataset_free(data);
}

static void test_matches_reference_floats(void **state) { (void)state; compare_with_reference(0); }
static void test_matches_reference_bytes(void **state) { (void)state; compare_with_reference(1); }

static RbmModel *train_with(const RbmDataset *data, int threads, uint64_t seed)
{
    RbmSettings settings;
    rbm_default_settings(&settings);
    strcpy(settings.train_path, "memory");
    settings.hidden = 19;
    settings.batch_size = 16; /* 203 rows: the last batch has 11 */
    settings.chunk_rows = 5;
    settings.update_strips = 3;
    settings.epochs = 3;
    settings.threads = threads;
    settings.seed = seed;
    RbmError error = {{0}};
    RbmModel *model = NULL;
    assert_int_equal(rbm_train(&model, &settings, data, NULL, &error), 0);
    return model;
}

static int same_parameters(const RbmModel *a, const RbmModel *b)
{
    size_t count = (size_t)(a->hidden * a->visible + a->hidden + a->visible);
    return memcmp(a->weights, b->weights, count * sizeof(float)) == 0 &&
           strcmp(a->config_text, b->config_text) == 0 &&
           strcmp(a->metadata_json, b->metadata_json) == 0;
}

static void test_same_bits_any_thread_count(void **state)
{
    (void)state;
    RbmDataset *data = make_dataset(203, 37, 3, 1);
    RbmModel *first = train_with(data, 1, 11);
    const int threads[] = {2, 3, 4, 7, 16, 1};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        RbmModel *other = train_with(data, threads[i], 11);
        print_message("threads %d: %s\n", threads[i],
                      same_parameters(first, other) ? "same bits" : "DIFFERENT");
        assert_true(same_parameters(first, other));
        rbm_model_free(other);
    }
    RbmModel *reseeded = train_with(data, 2, 12);
    assert_false(same_parameters(first, reseeded));
    rbm_model_free(reseeded);
    rbm_model_free(first);
    rbm_dataset_free(data);
}

/* rbm's lock around OpenBLAS's buffer table is in the call path (see src/blas.c). */
static void test_blas_buffer_guard_is_used(void **state)
{
    (void)state;
    enum { N = 96 };
    static float a[N * N], b[N * N], c[N * N];
    long before = rbm_blas_guarded_calls();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
    assert_true(rbm_blas_guarded_calls() > before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference_floats),
        cmocka_unit_test(test_matches_reference_bytes),
        cmocka_unit_test(test_same_bits_any_thread_count),
        cmocka_unit_test(test_blas_buffer_guard_is_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
