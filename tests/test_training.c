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
#include "cd.h"
#include "gemm.h"
#include "data/dataset.h"
#include "memory.h"
#include "pcg32.h"
#include "rbm/rbm.h"
#include "reference_cd.h"
#include "schedule.h"

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
    s->split = RBM_SPLIT_ROWS; /* the hidden_split variants below set the other */
}

/* The library's options, mirrored into the reference run. */
typedef void (*Configure)(RbmSettings *settings, ReferenceRun *run);

static void compare_with_reference_using(int eight_bit, Configure configure, const char *what)
{
    RbmDataset *data = make_dataset(45, 20, 7, eight_bit); /* last batch: 5 rows */
    RbmSettings settings;
    small_settings(&settings);
    float *dense = malloc((size_t)(data->rows * data->columns) * sizeof(float));
    for (int64_t r = 0; r < data->rows; r++)
        rbm_dataset_row(data, r, dense + r * data->columns);
    ReferenceRun run = {data->rows, data->columns, settings.hidden, settings.batch_size,
                        settings.epochs, settings.learning_rate, settings.momentum,
                        settings.weight_decay, settings.init_std, settings.seed, dense};
    if (configure)
        configure(&settings, &run);
    RbmError error = {{0}};
    RbmModel *model = NULL;
    assert_int_equal(rbm_train(&model, &settings, data, NULL, &error), 0);
    float W[8 * 20], hb[8], vb[20];
    const double reference_error = reference_train(&run, W, hb, vb);
    /* the model's final recon_error: the mean of (v0p - vnp)^2 over the last epoch's samples and
     * visible units, as the reference computes it with plain loops */
    const char *key = "\"final_recon_error\": ";
    const char *field = model->metadata_json ? strstr(model->metadata_json, key) : NULL;
    assert_non_null(field);
    const double recon_error = strtod(field + strlen(key), NULL);
    print_message("%s: recon_error %.9g, reference %.9g\n", what, recon_error, reference_error);
    assert_true(reference_error > 0 &&
                fabs(recon_error - reference_error) < 1e-6 * reference_error);
    double worst = 0, moved = 0;
    for (int i = 0; i < 8 * 20; i++) {
        worst = fmax(worst, fabs((double)W[i] - model->weights[i]));
        moved = fmax(moved, fabs((double)W[i]));
    }
    for (int i = 0; i < 8; i++)
        worst = fmax(worst, fabs((double)hb[i] - model->hidden_bias[i]));
    for (int i = 0; i < 20; i++)
        worst = fmax(worst, fabs((double)vb[i] - model->visible_bias[i]));
    print_message("%s: largest difference from the reference: %g (weights up to %g)\n", what,
                  worst, moved);
    assert_true(worst < 1e-5);
    assert_true(moved > 0.05); /* training moved the weights well beyond their start */
    free(dense);
    rbm_model_free(model);
    rbm_dataset_free(data);
}

static void compare_with_reference(int eight_bit)
{
    compare_with_reference_using(eight_bit, NULL, "CD-1");
}

static void test_matches_reference_floats(void **state) { (void)state; compare_with_reference(0); }
static void test_matches_reference_bytes(void **state) { (void)state; compare_with_reference(1); }

static void cd_3(RbmSettings *s, ReferenceRun *run) { s->cd_steps = run->cd_steps = 3; }
static void pcd(RbmSettings *s, ReferenceRun *run) { s->persistent = run->persistent = true; }
static void pcd_2(RbmSettings *s, ReferenceRun *run)
{
    s->persistent = run->persistent = true;
    s->cd_steps = run->cd_steps = 2;
}
static void shuffled(RbmSettings *s, ReferenceRun *run) { s->shuffle = run->shuffle = true; }
static void schedules(RbmSettings *s, ReferenceRun *run)
{
    s->momentum_initial = run->momentum_initial = 0.5;
    s->momentum_final = run->momentum_final = 0.8;
    s->momentum_switch_epoch = run->momentum_switch_epoch = 2;
    s->learning_rate_decay = run->learning_rate_decay = 0.5;
}
static void sparse(RbmSettings *s, ReferenceRun *run)
{
    s->sparsity_cost = run->sparsity_cost = 0.5;
    s->sparsity_target = run->sparsity_target = 0.05;
}
static void data_bias(RbmSettings *s, ReferenceRun *run)
{
    s->visible_bias_init = RBM_VISIBLE_BIAS_DATA;
    run->visible_bias_from_data = true;
}
static void everything(RbmSettings *s, ReferenceRun *run)
{
    pcd_2(s, run), shuffled(s, run), schedules(s, run), sparse(s, run), data_bias(s, run);
}

/* split = hidden: W split by hidden units across the workers (cd_hidden.c) */
static void hidden_split(RbmSettings *s, ReferenceRun *run)
{
    (void)run;
    s->split = RBM_SPLIT_HIDDEN;
}
static void hidden_split_cd_3(RbmSettings *s, ReferenceRun *run)
{
    hidden_split(s, run), cd_3(s, run);
}
static void hidden_split_pcd(RbmSettings *s, ReferenceRun *run)
{
    hidden_split(s, run), pcd(s, run);
}
static void hidden_split_pcd_2(RbmSettings *s, ReferenceRun *run)
{
    hidden_split(s, run), pcd_2(s, run);
}
static void hidden_split_everything(RbmSettings *s, ReferenceRun *run)
{
    hidden_split(s, run), everything(s, run);
}
/* more strips than the 8 hidden units (clamped to 8, none empty), and 1-row chunks */
static void hidden_split_thin_units(RbmSettings *s, ReferenceRun *run)
{
    hidden_split(s, run);
    s->update_strips = 12;
    s->chunk_rows = 1;
}

/* bit_counts: h0^T v0 as exact bit counts; the reference keeps its plain float loops */
static void bit_counts(RbmSettings *s, ReferenceRun *run)
{
    (void)run;
    s->bit_counts = 1;
}
static void bit_counts_hidden_split(RbmSettings *s, ReferenceRun *run)
{
    bit_counts(s, run), hidden_split(s, run);
}
static void bit_counts_everything(RbmSettings *s, ReferenceRun *run)
{
    bit_counts(s, run), everything(s, run);
}
static void bit_counts_hidden_split_everything(RbmSettings *s, ReferenceRun *run)
{
    bit_counts(s, run), hidden_split_everything(s, run);
}

static void test_options_match_reference(void **state)
{
    (void)state;
    compare_with_reference_using(1, bit_counts, "bit_counts");
    compare_with_reference_using(0, bit_counts_hidden_split, "bit_counts, split = hidden");
    compare_with_reference_using(1, bit_counts_everything, "bit_counts, all options");
    compare_with_reference_using(1, bit_counts_hidden_split_everything,
                                 "bit_counts, split = hidden, all options");
    /* the other split, alone and with the options that change its phases */
    compare_with_reference_using(1, hidden_split, "split = hidden");
    compare_with_reference_using(0, hidden_split, "split = hidden, floats");
    compare_with_reference_using(1, hidden_split_cd_3, "split = hidden, CD-3");
    compare_with_reference_using(1, hidden_split_pcd, "split = hidden, PCD");
    compare_with_reference_using(0, hidden_split_pcd_2, "split = hidden, PCD-2");
    compare_with_reference_using(1, hidden_split_everything, "split = hidden, all options");
    compare_with_reference_using(1, hidden_split_thin_units,
                                 "split = hidden, 12 strips, 1-row chunks");
    compare_with_reference_using(1, cd_3, "CD-3");
    compare_with_reference_using(1, pcd, "PCD");
    compare_with_reference_using(0, pcd_2, "PCD-2");
    compare_with_reference_using(1, shuffled, "shuffle");
    compare_with_reference_using(1, schedules, "momentum switch, learning-rate decay");
    compare_with_reference_using(1, sparse, "sparsity");
    compare_with_reference_using(0, data_bias, "visible_bias_init = data");
    compare_with_reference_using(1, everything, "all of them");
}

/* Each option changes the result (a test that the option is wired at all). */
static void test_options_change_the_result(void **state)
{
    (void)state;
    RbmDataset *data = make_dataset(45, 20, 7, 1);
    RbmSettings base;
    small_settings(&base);
    RbmError error = {{0}};
    RbmModel *plain = NULL;
    assert_int_equal(rbm_train(&plain, &base, data, NULL, &error), 0);
    Configure options[] = {cd_3,      pcd,          shuffled,  schedules,
                           sparse,    data_bias,    hidden_split, bit_counts};
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        RbmSettings settings = base;
        ReferenceRun ignored = {0};
        options[i](&settings, &ignored);
        RbmModel *model = NULL;
        assert_int_equal(rbm_train(&model, &settings, data, NULL, &error), 0);
        assert_true(memcmp(model->weights, plain->weights, sizeof(float) * (8 * 20 + 28)) != 0);
        rbm_model_free(model);
    }
    rbm_model_free(plain);
    rbm_dataset_free(data);
}

/* The shuffle is a permutation, new every epoch, the same for the same seed. */
static void test_shuffle_order(void **state)
{
    (void)state;
    enum { N = 1000 };
    static int64_t a[N], b[N], c[N];
    rbm_shuffle_order(a, N, 5, 0);
    rbm_shuffle_order(b, N, 5, 0);
    rbm_shuffle_order(c, N, 5, 1);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    static int seen[N];
    int in_place = 0;
    for (int i = 0; i < N; i++) {
        assert_true(a[i] >= 0 && a[i] < N && !seen[a[i]]);
        seen[a[i]] = 1;
        in_place += a[i] == i;
    }
    assert_true(in_place < 10); /* about 1 expected */
}

static RbmModel *train_configured(const RbmDataset *data, int threads, uint64_t seed,
                                  Configure configure, const RbmDataset *validation);

static RbmModel *train_with(const RbmDataset *data, int threads, uint64_t seed)
{
    return train_configured(data, threads, seed, NULL, NULL);
}

static RbmModel *train_configured(const RbmDataset *data, int threads, uint64_t seed,
                                  Configure configure, const RbmDataset *validation)
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
    settings.split = RBM_SPLIT_ROWS; /* the options that test split = hidden set it */
    if (configure) {
        ReferenceRun ignored = {0};
        configure(&settings, &ignored);
    }
    RbmError error = {{0}};
    RbmModel *model = NULL;
    RbmTrainHooks hooks = {.validation = validation};
    int result = rbm_train(&model, &settings, data, &hooks, &error);
    if (result != 0)
        print_message("%s\n", error.message);
    assert_int_equal(result, 0);
    return model;
}

static int same_parameters(const RbmModel *a, const RbmModel *b)
{
    for (const RbmModel *x = a, *y = b; x || y; x = x->next, y = y->next) { /* every layer */
        if (!x || !y || x->hidden != y->hidden || x->visible != y->visible)
            return 0;
        size_t count = (size_t)(x->hidden * x->visible + x->hidden + x->visible);
        if (memcmp(x->weights, y->weights, count * sizeof(float)) != 0)
            return 0;
    }
    return strcmp(a->config_text, b->config_text) == 0 &&
           strcmp(a->metadata_json, b->metadata_json) == 0;
}

static void stack(RbmSettings *s, ReferenceRun *run)
{
    (void)run;
    s->layers = (RbmIntList){3, {37, 19, 6}};
    s->layer_epochs = (RbmIntList){2, {3, 2}};
}
static void monitored(RbmSettings *s, ReferenceRun *run)
{
    everything(s, run);
    s->validation_fraction = 0.2;
}
static void monitored_hidden_split(RbmSettings *s, ReferenceRun *run)
{
    monitored(s, run), hidden_split(s, run);
}
static void stack_hidden_split(RbmSettings *s, ReferenceRun *run)
{
    stack(s, run), hidden_split(s, run);
}
/* bit_counts with 130-row batches: 3 words of bits per column in a full batch, 1 in the short
 * last one (the validation rows leave 163 training rows) */
static void wide_bit_counts(RbmSettings *s, ReferenceRun *run)
{
    monitored(s, run), bit_counts(s, run);
    s->batch_size = 130;
}
static void wide_bit_counts_hidden_split(RbmSettings *s, ReferenceRun *run)
{
    wide_bit_counts(s, run), hidden_split(s, run);
}

/* The model of `configure` at 2, 3 and 7 threads has the parameters of `first` (1 thread) */
static void assert_same_bits_at_2_3_7_threads(const RbmModel *first, const RbmDataset *data,
                                              Configure configure, const char *name)
{
    const int threads[] = {2, 3, 7};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        RbmModel *other = train_configured(data, threads[i], 11, configure, NULL);
        print_message("%s, threads %d: %s\n", name, threads[i],
                      same_parameters(first, other) ? "same bits" : "DIFFERENT");
        assert_true(same_parameters(first, other));
        rbm_model_free(other);
    }
}

/* Every option, and stacks, keep the promise: the same bits at any thread count. */
static void test_options_same_bits_any_thread_count(void **state)
{
    (void)state;
    RbmDataset *data = make_dataset(203, 37, 3, 1);
    Configure options[] = {everything,         monitored,
                           stack,              monitored_hidden_split,
                           stack_hidden_split, wide_bit_counts,
                           wide_bit_counts_hidden_split};
    const char *names[] = {"PCD-2 + shuffle + schedules + sparsity + data bias",
                           "the same with validation_fraction", "a stack 37,19,6",
                           "split = hidden, every option and validation_fraction",
                           "split = hidden, a stack 37,19,6",
                           "bit_counts, 130-row batches, every option",
                           "bit_counts, split = hidden, 130-row batches, every option"};
    for (size_t o = 0; o < sizeof options / sizeof options[0]; o++) {
        RbmModel *first = train_configured(data, 1, 11, options[o], NULL);
        assert_same_bits_at_2_3_7_threads(first, data, options[o], names[o]);
        RbmModel *reseeded = train_configured(data, 2, 12, options[o], NULL);
        assert_false(same_parameters(first, reseeded));
        rbm_model_free(reseeded);
        rbm_model_free(first);
    }
    rbm_dataset_free(data);
}

/* Batches of 600 rows: the gradient's depth (1,200; 600 with bit_counts) takes rbm_product_tn's
 * sliced path (from a depth of 512 on). 1,300 rows: the last batch, 100 rows, does not. */
static void deep_batches(RbmSettings *s, ReferenceRun *run)
{
    (void)run;
    s->batch_size = 600;
    s->chunk_rows = 70;
}
static void deep_bit_counts(RbmSettings *s, ReferenceRun *run)
{
    deep_batches(s, run), bit_counts(s, run);
}
static void deep_hidden_split(RbmSettings *s, ReferenceRun *run)
{
    deep_batches(s, run), hidden_split(s, run);
}
static void deep_bit_counts_hidden_split(RbmSettings *s, ReferenceRun *run)
{
    deep_bit_counts(s, run), hidden_split(s, run);
}

static void test_deep_batches_same_bits_any_thread_count(void **state)
{
    (void)state;
    RbmDataset *data = make_dataset(1300, 37, 9, 1);
    Configure options[] = {deep_batches, deep_bit_counts, deep_hidden_split,
                           deep_bit_counts_hidden_split};
    const char *names[] = {"600-row batches", "600-row batches, bit_counts",
                           "600-row batches, split = hidden",
                           "600-row batches, bit_counts, split = hidden"};
    for (size_t o = 0; o < sizeof options / sizeof options[0]; o++) {
        RbmModel *first = train_configured(data, 1, 11, options[o], NULL);
        assert_same_bits_at_2_3_7_threads(first, data, options[o], names[o]);
        rbm_model_free(first);
    }
    rbm_dataset_free(data);
}

static void two_wide_strips(RbmSettings *s, ReferenceRun *run)
{
    (void)run;
    s->update_strips = 2;
}

/* With 2+ workers the update writes W with non-temporal stores (rbm_weight_step). Strips of 96
 * and 104 columns, in rows 800 bytes apart (every other one starting mid-line), run its vector
 * loop, alignment head and tail: the bits must be those of the plain stores at 1 thread. */
static void test_same_bits_with_streaming_updates(void **state)
{
    (void)state;
    RbmDataset *data = make_dataset(97, 200, 5, 1);
    RbmModel *first = train_configured(data, 1, 11, two_wide_strips, NULL);
    for (int threads = 2; threads <= 3; threads++) {
        RbmModel *other = train_configured(data, threads, 11, two_wide_strips, NULL);
        print_message("200 visible, 2 strips, threads %d: %s\n", threads,
                      same_parameters(first, other) ? "same bits" : "DIFFERENT");
        assert_true(same_parameters(first, other));
        rbm_model_free(other);
    }
    rbm_model_free(first);
    rbm_dataset_free(data);
}

static int64_t strips_to_try;
static void strips_under_test(RbmSettings *s, ReferenceRun *run)
{
    (void)run;
    s->update_strips = strips_to_try;
}

/* Update strips start on cache lines where they can, and cover the columns in order */
static void test_strip_starts(void **state)
{
    (void)state;
    for (int64_t visible = 1; visible <= 300; visible++)
        for (int64_t strips = 1; strips <= visible && strips <= 20; strips++) {
            assert_int_equal(rbm_strip_start(visible, strips, 0), 0);
            assert_int_equal(rbm_strip_start(visible, strips, strips), visible);
            for (int64_t strip = 0; strip < strips; strip++) {
                const int64_t start = rbm_strip_start(visible, strips, strip);
                assert_true(rbm_strip_start(visible, strips, strip + 1) > start); /* not empty */
                if (visible >= 16 * strips)
                    assert_int_equal(start % 16, 0);
            }
        }
}

/* With the own products every element of W is computed alone (gemm.h), so where the update
 * strips start never changes a bit: any update_strips gives the model of any other. */
static void test_update_strips_never_change_the_bits(void **state)
{
    (void)state;
    if (!RBM_PRODUCTS_OWN)
        skip();
    RbmDataset *data = make_dataset(97, 200, 5, 1);
    strips_to_try = 1;
    RbmModel *first = train_configured(data, 1, 11, strips_under_test, NULL);
    const int64_t others[] = {2, 3, 7, 16};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        strips_to_try = others[i];
        RbmModel *other = train_configured(data, 2, 11, strips_under_test, NULL);
        /* the parameters: the model's config records update_strips */
        const size_t count = (size_t)(first->hidden * first->visible + first->hidden +
                                      first->visible);
        const bool same = memcmp(first->weights, other->weights, count * sizeof(float)) == 0;
        print_message("update_strips %lld: %s\n", (long long)others[i],
                      same ? "same bits" : "DIFFERENT");
        assert_true(same);
        rbm_model_free(other);
    }
    rbm_model_free(first);
    rbm_dataset_free(data);
}

/* Allocations one rbm_train call makes, with every option and the per-epoch monitors. */
static long allocations_for(const RbmDataset *data, int64_t epochs, int threads, RbmSplit split)
{
    RbmSettings settings;
    rbm_default_settings(&settings);
    strcpy(settings.train_path, "memory");
    settings.hidden = 19;
    settings.batch_size = 16;
    settings.chunk_rows = 5;
    settings.update_strips = 3;
    settings.threads = threads;
    ReferenceRun ignored = {0};
    monitored(&settings, &ignored);
    settings.epochs = epochs;
    settings.split = split;
    RbmError error = {{0}};
    RbmModel *model = NULL;
    rbm_test_fail_allocation(-1); /* counts from here */
    assert_int_equal(rbm_train(&model, &settings, data, NULL, &error), 0);
    long count = rbm_test_allocations();
    rbm_model_free(model);
    return count;
}

/* Every buffer is allocated before the first batch: more epochs (and batches) allocate nothing
 * more. */
static void test_allocations_do_not_grow_with_epochs(void **state)
{
    (void)state;
    RbmDataset *data = make_dataset(203, 37, 3, 1);
    for (int split = RBM_SPLIT_ROWS; split <= RBM_SPLIT_HIDDEN; split++)
        for (int threads = 1; threads <= 3; threads += 2) {
            long one = allocations_for(data, 1, threads, (RbmSplit)split);
            long six = allocations_for(data, 6, threads, (RbmSplit)split);
            print_message("split %d, threads %d: %ld allocations for 1 epoch, %ld for 6\n",
                          split, threads, one, six);
            assert_true(one > 0);
            assert_int_equal(one, six);
        }
    rbm_dataset_free(data);
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

/* threads = 0: every core, but no more workers than a batch has units of work. */
static void test_threads_follow_the_units_of_work(void **state)
{
    (void)state;
    const int cores = rbm_default_threads();
    RbmSettings s;
    rbm_default_settings(&s); /* batch 100, chunk_rows 50, 300 hidden: 2 auto strips at 784 */
    assert_int_equal(rbm_training_threads(&s, 42000, 784), cores < 2 ? cores : 2);
    s.chunk_rows = 100;
    s.update_strips = 1;
    assert_int_equal(rbm_training_threads(&s, 42000, 784), 1);
    s.update_strips = 3; /* strips outnumber the chunks */
    assert_int_equal(rbm_training_threads(&s, 42000, 784), cores < 3 ? cores : 3);
    s.update_strips = 1;
    s.chunk_rows = 1; /* 100 chunks */
    assert_int_equal(rbm_training_threads(&s, 42000, 784), cores < 100 ? cores : 100);
    assert_int_equal(rbm_training_threads(&s, 1, 784), 1); /* a batch of one row */
    s.threads = 16;                                          /* asked for: always given */
    assert_int_equal(rbm_training_threads(&s, 42000, 784), 16);
    s.threads = 0;
    s.chunk_rows = 100;
    s.update_strips = 0;
    s.layers = (RbmIntList){3, {784, 100, 50}}; /* 1 chunk; 1 auto strip in each RBM */
    assert_int_equal(rbm_training_threads(&s, 42000, 784), 1);
    s.layers = (RbmIntList){3, {784, 100, 2000}}; /* the second RBM: 2 auto strips */
    assert_int_equal(rbm_training_threads(&s, 42000, 784), cores < 2 ? cores : 2);
    s.layers = (RbmIntList){0, {0}};

    /* and a run uses that many workers */
    RbmDataset *data = make_dataset(40, 9, 5, 0);
    small_settings(&s);
    s.threads = 0;
    s.chunk_rows = s.batch_size;
    s.update_strips = 1;
    s.epochs = 1;
    RbmProfile profile = {0};
    RbmTrainHooks hooks = {.profile = &profile};
    RbmModel *model = NULL;
    RbmError error;
    assert_int_equal(rbm_train(&model, &s, data, &hooks, &error), 0);
    assert_int_equal(profile.workers, 1);
    rbm_profile_free(&profile);
    rbm_model_free(model);
    rbm_dataset_free(data);
}

/* Each floor runs its own kind of products: rbm_measure_floor OpenBLAS's (whose calls pass
 * through rbm's buffer guard, and are counted there), rbm_measure_own_floor and training the
 * own kernels, with AVX-512 no OpenBLAS product at all. */
static void test_floors_run_their_products(void **state)
{
    (void)state;
    RbmDataset *data = make_dataset(64, 200, 5, 1);
    RbmSettings settings;
    rbm_default_settings(&settings);
    strcpy(settings.train_path, "memory");
    settings.hidden = 64;
    settings.batch_size = 32;
    settings.chunk_rows = 16;
    settings.epochs = 1;
    settings.threads = 2;
    double seconds[1];
    RbmError error = {{0}};
    for (int split = 0; split < 2; split++) {
        settings.split = split ? RBM_SPLIT_HIDDEN : RBM_SPLIT_ROWS;
        long before = rbm_blas_guarded_calls();
        assert_int_equal(rbm_measure_floor(&settings, data, seconds, &error), 0);
        const long floor_calls = rbm_blas_guarded_calls() - before;
        before = rbm_blas_guarded_calls();
        assert_int_equal(rbm_measure_own_floor(&settings, data, seconds, &error), 0);
        const long own_calls = rbm_blas_guarded_calls() - before;
        before = rbm_blas_guarded_calls();
        RbmModel *model = NULL;
        assert_int_equal(rbm_train(&model, &settings, data, NULL, &error), 0);
        const long training_calls = rbm_blas_guarded_calls() - before;
        rbm_model_free(model);
        print_message("split %d: OpenBLAS calls: floor %ld, own floor %ld, training %ld\n", split,
                      floor_calls, own_calls, training_calls);
        assert_true(floor_calls > 0);
        if (RBM_PRODUCTS_OWN) {
            assert_int_equal(own_calls, 0);
            assert_int_equal(training_calls, 0);
        } else {
            assert_true(own_calls > 0 && training_calls > 0);
        }
    }
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
        cmocka_unit_test(test_options_match_reference),
        cmocka_unit_test(test_options_change_the_result),
        cmocka_unit_test(test_shuffle_order),
        cmocka_unit_test(test_options_same_bits_any_thread_count),
        cmocka_unit_test(test_deep_batches_same_bits_any_thread_count),
        cmocka_unit_test(test_same_bits_any_thread_count),
        cmocka_unit_test(test_allocations_do_not_grow_with_epochs),
        cmocka_unit_test(test_same_bits_with_streaming_updates),
        cmocka_unit_test(test_strip_starts),
        cmocka_unit_test(test_update_strips_never_change_the_bits),
        cmocka_unit_test(test_threads_follow_the_units_of_work),
        cmocka_unit_test(test_blas_buffer_guard_is_used),
        cmocka_unit_test(test_floors_run_their_products),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
