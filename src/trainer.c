/*
 * The trainer: one OpenMP parallel region for the whole run (as ggml_graph_compute). Per
 * mini-batch every worker takes sampling units (row chunks), meets the others at a barrier,
 * takes update units (column strips of W), and meets them again. Units are picked up
 * round-robin; their shapes never depend on the thread count, so neither do the results.
 * Every buffer is allocated once, before the first batch.
 */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cd.h"
#include "error.h"
#include "pcg32.h"
#include "rbm/rbm.h"


static float *aligned_floats(size_t count)
{
    void *memory = NULL;
    if (count > SIZE_MAX / sizeof(float) / 2 ||
        posix_memalign(&memory, 64, (count ? count : 1) * sizeof(float)) != 0)
        return NULL;
    memset(memory, 0, (count ? count : 1) * sizeof(float));
    return memory;
}

typedef struct Workspace {
    float *parameter_memory; /* params then velocity, each [H*V | H | V] */
    Parameters params, velocity;
    BatchBuffers batch;      /* the batch-wide statistics, shared by all workers */
    ChunkScratch *scratch;   /* [threads] */
    int threads;
} Workspace;

static void point_parameters(Parameters *p, float *memory, int64_t V, int64_t H)
{
    p->weights = memory;
    p->hidden_bias = memory + H * V;
    p->visible_bias = p->hidden_bias + H;
}

static void free_workspace(Workspace *w)
{
    free(w->parameter_memory);
    free(w->batch.visible_stats);
    free(w->batch.hidden_stats);
    free(w->batch.chunk_visible_delta);
    free(w->batch.chunk_hidden_delta);
    free(w->batch.chunk_squared_error);
    if (w->scratch) {
        for (int t = 0; t < w->threads; t++) {
            free(w->scratch[t].visible_probability);
            free(w->scratch[t].visible_work);
            free(w->scratch[t].hidden_work);
            free(w->scratch[t].uniform);
        }
    }
    free(w->scratch);
}

static int allocate_workspace(Workspace *w, const Shape *shape, int threads, uint64_t seed)
{
    const size_t V = (size_t)shape->visible, H = (size_t)shape->hidden;
    const size_t B = (size_t)shape->batch_size, R = (size_t)shape->chunk_rows;
    const size_t chunks = (B + R - 1) / R;
    const size_t parameter_count = H * V + H + V;
    w->threads = threads;
    w->parameter_memory = aligned_floats(2 * parameter_count);
    w->batch.visible_stats = aligned_floats(2 * B * V);
    w->batch.hidden_stats = aligned_floats(2 * B * H);
    w->batch.chunk_visible_delta = aligned_floats(chunks * V);
    w->batch.chunk_hidden_delta = aligned_floats(chunks * H);
    w->batch.chunk_squared_error = calloc(chunks, sizeof(double));
    w->scratch = calloc((size_t)threads, sizeof *w->scratch);
    if (!w->parameter_memory || !w->batch.visible_stats || !w->batch.hidden_stats ||
        !w->batch.chunk_visible_delta || !w->batch.chunk_hidden_delta ||
        !w->batch.chunk_squared_error || !w->scratch)
        return -ENOMEM;
    for (int t = 0; t < threads; t++) {
        ChunkScratch *s = &w->scratch[t];
        s->visible_probability = aligned_floats(R * V);
        s->visible_work = aligned_floats(R * V);
        s->hidden_work = aligned_floats(R * H);
        s->uniform = aligned_floats(V > H ? V : H);
        if (!s->visible_probability || !s->visible_work || !s->hidden_work || !s->uniform)
            return -ENOMEM;
        pcg32_seed(&s->rng, seed, RBM_STREAM);
        s->position = 0;
    }
    point_parameters(&w->params, w->parameter_memory, (int64_t)V, (int64_t)H);
    point_parameters(&w->velocity, w->parameter_memory + parameter_count, (int64_t)V, (int64_t)H);
    return 0;
}

/* weights ~ N(0, init_std^2) by Box-Muller from the run's stream at INIT_DRAW_OFFSET; biases 0. */
static void initialise_weights(float *weights, size_t count, double init_std, uint64_t seed)
{
    Pcg32 rng;
    pcg32_seed(&rng, seed, RBM_STREAM);
    pcg32_advance(&rng, INIT_DRAW_OFFSET);
    for (size_t i = 0; i < count; i += 2) {
        double u1 = ((double)pcg32_next(&rng) + 1.0) * 0x1p-32; /* (0, 1] */
        double u2 = (double)pcg32_next(&rng) * 0x1p-32;
        double radius = sqrt(-2.0 * log(u1)) * init_std;
        weights[i] = (float)(radius * cos(2.0 * M_PI * u2));
        if (i + 1 < count)
            weights[i + 1] = (float)(radius * sin(2.0 * M_PI * u2));
    }
}

static char *metadata_json(const RbmSettings *settings, const RbmDataset *data,
                           int64_t epochs_trained, double recon_error)
{
    char *text = malloc(4096 + strlen(settings->train_path));
    if (!text)
        return NULL;
    snprintf(text, 4096 + strlen(settings->train_path),
             "{\"format\": \"rbm-model\", \"format_version\": 1, \"rbm_version\": \"%s\", "
             "\"visible\": %lld, \"hidden\": %lld, \"samples\": %lld, \"seed\": %llu, "
             "\"epochs_trained\": %lld, \"final_recon_error\": %.9g}",
             rbm_version(), (long long)data->columns, (long long)settings->hidden,
             (long long)data->rows, (unsigned long long)settings->seed, (long long)epochs_trained,
             recon_error);
    return text;
}

const char *rbm_phase_name(RbmPhase phase)
{
    static const char *const names[RBM_PHASE_COUNT] = {
        "data conversion", "forward sgemm", "reverse sgemm",         "gradient sgemm",
        "sigmoid",         "sampling+rng",  "reduction and update",  "barrier wait"};
    return phase >= 0 && phase < RBM_PHASE_COUNT ? names[phase] : "?";
}

void rbm_profile_free(RbmProfile *profile)
{
    if (profile) {
        free(profile->per_worker);
        profile->per_worker = NULL;
    }
}

/* Waits for every worker, charging the wait to the barrier phase. */
#define BARRIER(timer)                                                                           \
    do {                                                                                         \
        phase_begin(timer);                                                                      \
        _Pragma("omp barrier");                                                                  \
        phase_end(timer, RBM_PHASE_BARRIER, 0);                                                  \
    } while (0)

/* Trains; or, with products_only, runs exactly the same matrix products on the same schedule
 * and nothing else (the sgemm floor that rbm bench compares against). */
static int run(RbmModel **out, const RbmSettings *settings, const RbmDataset *data,
               const RbmTrainHooks *hooks, bool products_only, RbmError *error)
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
    const int64_t N = data->rows;
    Shape shape = {
        .visible = data->columns,
        .hidden = settings->hidden,
        .batch_size = settings->batch_size < N ? settings->batch_size : N,
    };
    shape.chunk_rows = settings->chunk_rows < shape.batch_size ? settings->chunk_rows
                                                              : shape.batch_size;
    shape.products_only = products_only;
    shape.strips = shape.visible < settings->update_strips ? shape.visible : settings->update_strips;
    int threads = settings->threads > 0 ? (int)settings->threads : rbm_default_threads();
    UpdateRule rule = {(float)settings->learning_rate, (float)settings->momentum,
                       (float)settings->weight_decay};

    Workspace w = {0};
    RbmModel *model = NULL;
    if (allocate_workspace(&w, &shape, threads, settings->seed) < 0 ||
        rbm_model_new(&model, shape.visible, shape.hidden) < 0) {
        free_workspace(&w);
        rbm_model_free(model);
        return rbm_fail(error, -ENOMEM, "out of memory for a %lld x %lld model with %d threads",
                        (long long)shape.hidden, (long long)shape.visible, threads);
    }
    RbmProfile *profile = hooks->profile;
    if (profile) {
        profile->workers = threads;
        profile->wall_seconds = 0;
        profile->per_worker = calloc((size_t)threads * RBM_PHASE_COUNT, sizeof(RbmPhaseStats));
        if (!profile->per_worker) {
            free_workspace(&w);
            rbm_model_free(model);
            return rbm_fail(error, -ENOMEM, "out of memory");
        }
        for (int t = 0; t < threads; t++)
            w.scratch[t].timer.stats = profile->per_worker + (size_t)t * RBM_PHASE_COUNT;
    }
    initialise_weights(w.params.weights, (size_t)(shape.hidden * shape.visible),
                       settings->init_std, settings->seed);

    const uint64_t draws = rbm_draws_per_sample(&shape);
    int64_t epochs_done = 0;
    double last_error = NAN;
    int stop = 0;
    double epoch_start = 0, squared_error = 0;
    omp_set_dynamic(0);
    const double run_start = rbm_now();
#pragma omp parallel num_threads(threads)
    {
        const int worker = omp_get_thread_num(), workers = omp_get_num_threads();
        ChunkScratch *scratch = &w.scratch[worker];
        PhaseTimer *timer = &scratch->timer;
        for (int64_t epoch = 0; epoch < settings->epochs && !stop; epoch++) {
            if (worker == 0) {
                epoch_start = omp_get_wtime();
                squared_error = 0;
            }
            for (int64_t first_row = 0; first_row < N; first_row += shape.batch_size) {
                BatchBuffers batch = w.batch;
                batch.rows = N - first_row < shape.batch_size ? N - first_row : shape.batch_size;
                batch.first_row = first_row;
                batch.first_draw = ((uint64_t)epoch * (uint64_t)N + (uint64_t)first_row) * draws;
                const int64_t chunks = rbm_chunk_count(&shape, batch.rows);
                for (int64_t chunk = worker; chunk < chunks; chunk += workers)
                    rbm_cd_sample_chunk(&batch, scratch, &w.params, data, &shape, chunk);
                BARRIER(timer);
                for (int64_t strip = worker; strip < shape.strips; strip += workers)
                    rbm_cd_update_strip(&w.params, &w.velocity, &batch, &shape, &rule, strip,
                                        timer);
                if (worker == 0)
                    for (int64_t chunk = 0; chunk < chunks; chunk++)
                        squared_error += batch.chunk_squared_error[chunk];
                BARRIER(timer);
            }
            if (worker == 0) {
                double seconds = omp_get_wtime() - epoch_start;
                epochs_done = epoch + 1;
                last_error = squared_error / ((double)N * (double)shape.visible);
                RbmEpochReport report = {epoch + 1, settings->epochs, last_error, seconds,
                                         seconds > 0 ? (double)N / seconds : 0};
                if (hooks->on_epoch && hooks->on_epoch(&report, hooks->user) != 0)
                    stop = 1;
            }
            BARRIER(timer);
        }
    }
    if (profile)
        profile->wall_seconds = rbm_now() - run_start;

    size_t parameter_count = (size_t)(shape.hidden * shape.visible + shape.hidden + shape.visible);
    memcpy(model->weights, w.params.weights, parameter_count * sizeof(float));
    free_workspace(&w);
    /* Only the keys the result depends on: the model file is then the same, byte for byte,
     * whatever the thread count or output paths. */
    size_t config_length = rbm_settings_format(settings, RBM_KEYS_RESULT, NULL, 0);
    char *config = malloc(config_length + 1);
    if (config)
        rbm_settings_format(settings, RBM_KEYS_RESULT, config, config_length + 1);
    model->config_text = config;
    model->metadata_json = metadata_json(settings, data, epochs_done, last_error);
    if (!model->config_text || !model->metadata_json) {
        rbm_model_free(model);
        return rbm_fail(error, -ENOMEM, "out of memory");
    }
    *out = model;
    return 0;
}

int rbm_train(RbmModel **out, const RbmSettings *settings, const RbmDataset *data,
              const RbmTrainHooks *hooks, RbmError *error)
{
    return run(out, settings, data, hooks, false, error);
}

typedef struct FloorTimes {
    double *seconds;
    int64_t count;
} FloorTimes;

static int record_floor_epoch(const RbmEpochReport *report, void *user)
{
    FloorTimes *times = user;
    times->seconds[times->count++] = report->seconds;
    return 0;
}

int rbm_measure_floor(const RbmSettings *settings, const RbmDataset *data, double *epoch_seconds,
                      RbmError *error)
{
    FloorTimes times = {epoch_seconds, 0};
    RbmTrainHooks hooks = {record_floor_epoch, &times, NULL};
    RbmModel *model = NULL;
    int result = run(&model, settings, data, &hooks, true, error);
    rbm_model_free(model);
    return result;
}
