/*
 * The trainer: one OpenMP parallel region for the whole run (as ggml_graph_compute). Per
 * mini-batch every worker takes sampling units (row chunks), meets the others at a barrier,
 * takes update units (column strips of W), and meets them again (split = rows, cd.c). With
 * split = hidden (cd_hidden.c) the units are strips of hidden units instead, and each strip of
 * W stays with one worker. Units are picked up round-robin; their shapes never depend on the
 * thread count, so neither do the results. Every buffer is allocated once, before the first
 * batch.
 */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "cd.h"
#include "checkpoint.h"
#include "error.h"
#include "data/dataset.h"
#include "evaluate.h"
#include "gemm.h"
#include "pcg32.h"
#include "rbm/rbm.h"
#include "schedule.h"
#include "settings_internal.h"
#include "trainer.h"


/* `size` zeroed bytes on a cache-line boundary */
static void *aligned_to(size_t alignment, size_t size)
{
    void *memory = NULL;
    if (rbm_posix_memalign(&memory, alignment, size ? size : 1) != 0)
        return NULL;
    memset(memory, 0, size ? size : 1);
    return memory;
}

static void *aligned_bytes(size_t size) { return aligned_to(64, size); }

/* split = hidden's per-strip regions and per-unit blocks start pages (cd.h) */
static float *page_floats(size_t count)
{
    if (count > SIZE_MAX / sizeof(float) / 2)
        return NULL;
    return aligned_to(4096, (count ? count : 1) * sizeof(float));
}

static float *aligned_floats(size_t count)
{
    if (count > SIZE_MAX / sizeof(float) / 2)
        return NULL;
    return aligned_bytes((count ? count : 1) * sizeof(float));
}

typedef struct Workspace {
    float *parameter_memory; /* params then velocity, each [H*V | H | V], the velocity on a cache
                                line of its own (so are its update strips' columns where W's are) */
    Parameters params, velocity;
    BatchBuffers batch;      /* the batch-wide statistics, shared by all workers */
    ChunkScratch *scratch;   /* [threads] */
    int threads;
    int64_t *order;          /* [samples]: this epoch's shuffled order, or NULL */
    float *chains;           /* [batch_size][hidden]: PCD chains, or NULL */
    /* the per-epoch monitors: validation rows, then the first training rows */
    const RbmDataset *validation, *train_subset;
    int64_t validation_units, monitor_units; /* chunks of chunk_rows rows */
    EvaluationSums *monitor_sums;            /* [monitor_units] */
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
    free(w->batch.chunk_hidden_probability);
    free(w->batch.partials);
    free(w->batch.chain_partials);
    free(w->batch.chain_hidden);
    free(w->batch.sample_bytes);
    free(w->batch.hidden_bytes);
    free(w->batch.strip_weights_transposed);
    free(w->batch.strip_panels);
    free(w->batch.strip_row_panels);
    if (w->scratch) {
        for (int t = 0; t < w->threads; t++) {
            free(w->scratch[t].visible_probability);
            free(w->scratch[t].visible_work);
            free(w->scratch[t].hidden_work);
            free(w->scratch[t].hidden_sample);
            free(w->scratch[t].strip_work);
            free(w->scratch[t].visible_samples);
            free(w->scratch[t].chunk_samples);
            free(w->scratch[t].hidden_bits);
            free(w->scratch[t].visible_bits);
            free(w->scratch[t].chunk_hidden);
            free(w->scratch[t].update_hidden);
            free(w->scratch[t].update_visible);
            free(w->scratch[t].weights_transposed);
            rbm_ones_free(&w->scratch[t].visible_ones[0]);
            rbm_ones_free(&w->scratch[t].visible_ones[1]);
            rbm_ones_free(&w->scratch[t].hidden_ones);
            rbm_ones_free(&w->scratch[t].reconstruction_columns);
            free(w->scratch[t].reconstruction_bits);
            free(w->scratch[t].probability_panels);
            free(w->scratch[t].gradient_staging);
        }
    }
    free(w->scratch);
    free(w->order);
    free(w->chains);
    free(w->monitor_sums);
}

static int allocate_workspace(Workspace *w, const Shape *shape, int threads, uint64_t seed,
                              uint64_t stream, int64_t samples, bool shuffle)
{
    const size_t V = (size_t)shape->visible, H = (size_t)shape->hidden;
    const size_t B = (size_t)shape->batch_size, R = (size_t)shape->chunk_rows;
    const size_t chunks = (B + R - 1) / R, strips = (size_t)shape->strips;
    const size_t parameter_count = H * V + H + V;
    /* split = hidden uses three rows of visible_work per worker, and one error sum per unit */
    const size_t work_rows = shape->split_hidden && R < 3 ? 3 : R;
    const size_t error_units = shape->split_hidden && strips > chunks ? strips : chunks;
    w->threads = threads;
    const size_t velocity_offset = (parameter_count + 15) / 16 * 16;
    w->parameter_memory = aligned_floats(velocity_offset + parameter_count);
    /* split = hidden, and byte_handover, keep the samples as bytes, and each worker its own
     * float copy; hnp stays in hidden_stats */
    const bool bytes = shape->split_hidden || shape->byte_handover;
    w->batch.visible_stats = aligned_floats(bytes ? 0 : 2 * B * V);
    w->batch.hidden_stats =
        shape->split_hidden
            ? page_floats(strips * (size_t)rbm_strip_region(shape, shape->batch_size * 2))
            : aligned_floats(2 * B * H);
    w->batch.chunk_visible_delta = aligned_floats(chunks * V);
    w->batch.chunk_hidden_delta = aligned_floats(chunks * H);
    w->batch.chunk_squared_error = rbm_calloc(error_units, sizeof(double));
    w->scratch = rbm_calloc((size_t)threads, sizeof *w->scratch);
    if (!w->parameter_memory || !w->batch.visible_stats || !w->batch.hidden_stats ||
        !w->batch.chunk_visible_delta || !w->batch.chunk_hidden_delta ||
        !w->batch.chunk_squared_error || !w->scratch)
        return -ENOMEM;
    if (shape->sparsity && !(w->batch.chunk_hidden_probability = aligned_floats(chunks * H)))
        return -ENOMEM;
    if (shape->persistent && !(w->chains = aligned_floats(B * H)))
        return -ENOMEM;
    const bool chain_samples = shape->cd_steps > 1 || shape->persistent;
    if (shape->split_hidden) {
        const size_t partial_floats = strips * strips * (size_t)shape->partial_block;
        if (!(w->batch.partials = page_floats(partial_floats)))
            return -ENOMEM;
        if (chain_samples && (!(w->batch.chain_partials = page_floats(partial_floats)) ||
                              !(w->batch.chain_hidden = page_floats(
                                  strips * (size_t)rbm_strip_region(shape, shape->batch_size)))))
            return -ENOMEM;
    }
    if (shape->transposed_forward && shape->split_hidden && !shape->ones_forward &&
        !(w->batch.strip_weights_transposed =
              aligned_floats(strips * V * (size_t)rbm_strip_transposed_stride(shape))))
        return -ENOMEM;
    if (shape->ones_forward &&
        !(w->batch.strip_panels = aligned_floats(
              strips * (size_t)rbm_panel_floats(rbm_widest_hidden_strip(shape), (int64_t)V))))
        return -ENOMEM;
    if (shape->ones_reverse &&
        !(w->batch.strip_row_panels = aligned_floats(strips * (size_t)rbm_row_panel_floats(shape))))
        return -ENOMEM;
    const size_t widest_columns = (size_t)rbm_widest_column_strip((int64_t)V, (int64_t)strips);
    if (bytes && !(w->batch.sample_bytes = aligned_bytes(2 * B * (size_t)rbm_byte_stride(V))))
        return -ENOMEM;
    if (bytes) /* the padding of each row too: whole blocks of a row are read (rbm_gradient_ones) */
        memset(w->batch.sample_bytes, 0, 2 * B * (size_t)rbm_byte_stride(V));
    if (shape->byte_handover &&
        !(w->batch.hidden_bytes = aligned_bytes(B * (size_t)rbm_byte_stride(H))))
        return -ENOMEM;
    if (shuffle && !(w->order = rbm_malloc((size_t)samples * sizeof *w->order)))
        return -ENOMEM;
    if (w->monitor_units &&
        !(w->monitor_sums = rbm_calloc((size_t)w->monitor_units, sizeof *w->monitor_sums)))
        return -ENOMEM;
    for (int t = 0; t < threads; t++) {
        ChunkScratch *s = &w->scratch[t];
        s->visible_probability = aligned_floats(R * V);
        s->visible_work = aligned_floats(work_rows * V);
        s->hidden_work = aligned_floats(R * H);
        if (!s->visible_probability || !s->visible_work || !s->hidden_work)
            return -ENOMEM;
        if (chain_samples && !shape->split_hidden &&
            !(s->hidden_sample = aligned_floats(R * H)))
            return -ENOMEM;
        const size_t widest_strip = (size_t)rbm_widest_hidden_strip(shape);
        if (shape->split_hidden && !(s->strip_work = aligned_floats(B * widest_strip)))
            return -ENOMEM;
        if (shape->split_hidden && !shape->ones_gradient &&
            !(s->visible_samples = aligned_floats(2 * B * V)))
            return -ENOMEM;
        if (shape->ones_forward &&
            (rbm_ones_new(&s->visible_ones[0], (int64_t)B, (int64_t)V) < 0 ||
             rbm_ones_new(&s->visible_ones[1], (int64_t)B, (int64_t)V) < 0))
            return -ENOMEM;
        if (shape->ones_reverse &&
            rbm_ones_new(&s->hidden_ones, (int64_t)B, rbm_widest_hidden_strip(shape)) < 0)
            return -ENOMEM;
        if (shape->ones_gradient &&
            (!(s->reconstruction_bits = rbm_calloc((B + 63) / 64 * V, sizeof(uint64_t))) ||
             rbm_ones_new(&s->reconstruction_columns, (int64_t)V, (int64_t)B) < 0 ||
             !(s->probability_panels = aligned_floats((size_t)rbm_panel_floats(
                   rbm_widest_hidden_strip(shape), (int64_t)B))) ||
             !(s->gradient_staging = aligned_floats(V * RBM_PANEL_COLUMNS))))
            return -ENOMEM;
        /* W^T for the workers that take sampling units (chunks are handed out round-robin) */
        if (shape->transposed_forward && !shape->split_hidden && (size_t)t < chunks &&
            !(s->weights_transposed = aligned_floats(V * (size_t)rbm_product_stride((int64_t)H))))
            return -ENOMEM;
        const size_t words = (B + 63) / 64;
        if ((shape->bit_counts || shape->counted_gradient) &&
            (!(s->hidden_bits = rbm_calloc(words * H, sizeof(uint64_t))) ||
                                  !(s->visible_bits = rbm_calloc(words * V, sizeof(uint64_t)))))
            return -ENOMEM;
        if (shape->byte_handover && (!(s->chunk_samples = aligned_floats(2 * R * V)) ||
                                     !(s->chunk_hidden = aligned_floats(R * H)) ||
                                     (!shape->bit_counts &&
                                      !(s->update_hidden = aligned_floats(2 * B * H))) ||
                                     /* -vn only, with bit_counts */
                                     !(s->update_visible = aligned_floats(
                                           (shape->bit_counts ? 1 : 2) * B * widest_columns))))
            return -ENOMEM;
        pcg32_seed(&s->rng, seed, stream);
        s->position = 0;
    }
    point_parameters(&w->params, w->parameter_memory, (int64_t)V, (int64_t)H);
    point_parameters(&w->velocity, w->parameter_memory + velocity_offset, (int64_t)V, (int64_t)H);
    return 0;
}

/* weights ~ N(0, init_std^2) by Box-Muller from the run's stream at INIT_DRAW_OFFSET; biases 0. */
static void initialise_weights(float *weights, size_t count, double init_std, uint64_t seed,
                               uint64_t stream)
{
    Pcg32 rng;
    pcg32_seed(&rng, seed, stream);
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
    char *text = rbm_malloc(4096 + strlen(settings->train_path));
    if (!text)
        return NULL;
    char error_text[32] = "null"; /* before the first epoch ends there is none; JSON has no NaN */
    if (isfinite(recon_error))
        snprintf(error_text, sizeof error_text, "%.9g", recon_error);
    snprintf(text, 4096 + strlen(settings->train_path),
             "{\"format\": \"rbm-model\", \"format_version\": 1, \"rbm_version\": \"%s\", "
             "\"visible\": %lld, \"hidden\": %lld, \"samples\": %lld, \"seed\": %llu, "
             "\"epochs_trained\": %lld, \"final_recon_error\": %s}",
             rbm_version(), (long long)data->columns, (long long)settings->hidden,
             (long long)data->rows, (unsigned long long)settings->seed, (long long)epochs_trained,
             error_text);
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

int64_t rbm_auto_strips(int64_t visible, int64_t hidden)
{
    /* A power of two near H*V / 2^17: each strip keeps at least ~64k weights, so that what a
     * strip costs beyond its product (reading the batch's hidden statistics, OpenBLAS's
     * packing of them without AVX-512) stays small, and powers of two split evenly over 1, 2,
     * 4, 8... workers. From the shape only, never from the threads. (Session 7: 8 strips were
     * no faster than 2 at 784 x 300 at 2 threads, handed out on demand or not.) */
    double ratio = (double)visible * (double)hidden / 131072.0;
    int64_t strips = 1;
    while (strips < 64 && (double)strips * 1.41421356 < ratio)
        strips *= 2;
    return strips;
}

void rbm_checkpoint_path(const RbmSettings *settings, char out[RBM_PATH_MAX + 8])
{
    if (settings->checkpoint_path[0])
        snprintf(out, RBM_PATH_MAX + 8, "%s", settings->checkpoint_path);
    else
        snprintf(out, RBM_PATH_MAX + 8, "%s.ckpt", settings->model_path);
}

/* What the workers share beyond the buffers: written by worker 0 before a barrier, read by all
 * after it. */
typedef struct Control {
    Progress progress;     /* the cursor, kept by worker 0 */
    double epoch_start;    /* clock at the start (or resumption) of the epoch */
    double last_checkpoint;
    uint64_t fingerprint;  /* of the data, computed once when a checkpoint needs it */
    int have_fingerprint;
    int checkpoint_now;    /* write one at this batch boundary (inside an epoch) */
    int checkpoint_at_end; /* write one when this epoch's report is done */
    int stop;              /* leave the loop: stop request, callback, divergence or failure */
    int64_t layer, layers; /* which RBM of a stack this run trains (1-based), of */
    int64_t resumed_batch; /* the batch this epoch's clock started at (a resume), else 0 */
    int result;            /* 0, -EINTR, -ERANGE or a checkpoint write error */
    RbmError error;
} Control;

static uint64_t fingerprint_of(Control *control, const RbmDataset *data)
{
    if (!control->have_fingerprint) {
        control->fingerprint = rbm_dataset_fingerprint(data);
        control->have_fingerprint = 1;
    }
    return control->fingerprint;
}

static int parameters_finite(const Parameters *params, const Shape *shape)
{
    size_t count = (size_t)(shape->hidden * shape->visible + shape->hidden + shape->visible);
    float sum = 0.0f;
    for (size_t i = 0; i < count; i++)
        sum += params->weights[i] * 0.0f; /* NaN or infinity makes it NaN */
    return sum == 0.0f;
}

/* Worker 0, at a batch boundary where every update is done: writes the checkpoint. */
static void write_checkpoint(Control *control, const RbmSettings *settings, const RbmDataset *data,
                             const Shape *shape, const Workspace *w)
{
    char path[RBM_PATH_MAX + 8];
    rbm_checkpoint_path(settings, path);
    if (!parameters_finite(&w->params, shape)) { /* never replace a good checkpoint with this */
        control->result = rbm_fail(&control->error, -ERANGE,
                                   "training diverged in epoch %lld, batch %lld: the parameters "
                                   "are not finite (try a smaller train.learning_rate); the last "
                                   "checkpoint is kept",
                                   (long long)control->progress.epoch + 1,
                                   (long long)control->progress.batch);
        control->stop = 1;
        return;
    }
    int result = rbm_checkpoint_save(path, settings, fingerprint_of(control, data), shape,
                                     &w->params, &w->velocity, w->chains, &control->progress,
                                     &control->error);
    if (result < 0) {
        control->result = result;
        control->stop = 1;
    }
    control->last_checkpoint = rbm_now();
}

/* Worker 0, after batch `batch` of epoch `epoch` has been applied: advances the cursor, checks
 * for divergence, and decides whether to checkpoint or stop at this boundary. */
static void after_batch(Control *control, const RbmSettings *settings, const RbmTrainHooks *hooks,
                        int64_t epoch, int64_t batch, int64_t batches, int64_t samples_done,
                        double batch_error)
{
    Progress *p = &control->progress;
    control->checkpoint_now = control->checkpoint_at_end = 0;
    p->squared_error += batch_error;
    if (!isfinite(batch_error)) {
        control->result = rbm_fail(&control->error, -ERANGE,
                                   "training diverged in epoch %lld, batch %lld: the "
                                   "reconstruction error is not finite (try a smaller "
                                   "train.learning_rate); the last checkpoint is kept",
                                   (long long)epoch + 1, (long long)batch + 1);
        control->stop = 1;
        return;
    }
    p->epoch = epoch;
    p->batch = batch + 1; /* the epoch's end moves the cursor on to the next epoch */
    if (hooks->on_batch) {
        RbmBatchReport report = {epoch + 1, settings->epochs, batch + 1, batches, samples_done,
                                 control->layer, control->layers,
                                 rbm_now() - control->epoch_start, control->resumed_batch};
        hooks->on_batch(&report, hooks->user);
    }
    int stop = hooks->stop_request && *hooks->stop_request;
    int due = settings->checkpoint_seconds > 0 &&
              rbm_now() - control->last_checkpoint >= settings->checkpoint_seconds;
    if (stop) {
        control->stop = 1;
        control->result = -EINTR;
    }
    control->checkpoint_now = (stop || due) && batch + 1 < batches;
    control->checkpoint_at_end = (stop || due) && batch + 1 == batches;
}

/* Worker 0, after the last batch of an epoch: reports, and checkpoints if it is time. */
static void after_epoch(Control *control, const RbmSettings *settings, const RbmDataset *data,
                        const Shape *shape, const Workspace *w, const RbmTrainHooks *hooks,
                        int64_t epoch)
{
    Progress *p = &control->progress;
    double seconds = rbm_now() - control->epoch_start;
    double error = p->squared_error / ((double)data->rows * (double)shape->visible);
    *p = (Progress){epoch + 1, 0, 0.0, error, p->layer};
    if (!parameters_finite(&w->params, shape)) {
        control->result = rbm_fail(&control->error, -ERANGE,
                                   "training diverged in epoch %lld: the parameters are not "
                                   "finite (try a smaller train.learning_rate); the last "
                                   "checkpoint is kept",
                                   (long long)epoch + 1);
        control->stop = 1;
        return;
    }
    RbmEpochReport report = {epoch + 1, settings->epochs, error, seconds,
                             seconds > 0 ? (double)data->rows / seconds : 0,
                             NAN, NAN, NAN, NAN, NAN, control->layer, control->layers};
    if (w->monitor_units) { /* the workers' sums, added in unit order */
        EvaluationSums validation = {0, 0, 0}, train = {0, 0, 0};
        for (int64_t unit = 0; unit < w->monitor_units; unit++)
            rbm_evaluation_add(unit < w->validation_units ? &validation : &train,
                               &w->monitor_sums[unit]);
        const double rows = (double)w->validation->rows;
        report.validation_recon_error = validation.squared_error / (rows * (double)shape->visible);
        report.free_energy_validation = validation.free_energy / rows;
        report.free_energy_train = train.free_energy / (double)w->train_subset->rows;
        report.free_energy_gap = report.free_energy_validation - report.free_energy_train;
        report.pseudo_likelihood = validation.pseudo_likelihood / rows;
    }
    if (hooks->on_epoch && hooks->on_epoch(&report, hooks->user) != 0) {
        control->stop = 1;
        control->result = -EINTR;
        control->checkpoint_at_end = 1;
    }
    int every = settings->checkpoint_every > 0 && (epoch + 1) % settings->checkpoint_every == 0;
    if (!shape->products_only && (every || control->checkpoint_at_end))
        write_checkpoint(control, settings, data, shape, w);
    control->checkpoint_at_end = 0;
    control->epoch_start = rbm_now();
    control->resumed_batch = 0;
}

/* Monitor unit `unit`: a chunk of the validation rows, then of the training subset. */
static void monitor_unit(Workspace *w, const Shape *shape, const RbmSettings *settings,
                         ChunkScratch *scratch, int64_t unit)
{
    const RbmDataset *rows = w->validation;
    int64_t chunk = unit;
    if (unit >= w->validation_units) {
        rows = w->train_subset;
        chunk -= w->validation_units;
    }
    const int64_t first = chunk * shape->chunk_rows;
    const int64_t count = rows->rows - first < shape->chunk_rows ? rows->rows - first
                                                                 : shape->chunk_rows;
    EvaluationScratch evaluation = {scratch->visible_probability, scratch->visible_work,
                                    scratch->hidden_work};
    rbm_evaluate_chunk(&w->monitor_sums[unit], &w->params, rows, first, count, shape->hidden,
                       &evaluation, settings->seed, false);
}

/* One batch split by rows (cd.c): sampling chunks, a barrier, update strips. */
static void rows_split_batch(Workspace *w, BatchBuffers *batch, ChunkScratch *scratch,
                             const RbmDataset *data, const Shape *shape, const UpdateRule *rule,
                             int worker, int workers)
{
    PhaseTimer *timer = &scratch->timer;
    const int64_t chunks = rbm_chunk_count(shape, batch->rows);
    if (shape->transposed_forward && worker < chunks)
        rbm_cd_take_weights(scratch, &w->params, shape);
    for (int64_t chunk = worker; chunk < chunks; chunk += workers)
        rbm_cd_sample_chunk(batch, scratch, &w->params, data, shape, chunk);
    BARRIER(timer);
    if ((shape->byte_handover || shape->bit_counts) && worker < shape->strips)
        rbm_cd_take_hidden(scratch, batch, shape);
    for (int64_t strip = worker; strip < shape->strips; strip += workers)
        rbm_cd_update_strip(&w->params, &w->velocity, batch, scratch, shape, rule, strip);
}

/* One batch split by hidden units (cd_hidden.c): strip s is always worker s mod workers's, so
 * W_s stays in that worker's cache from batch to batch. */
static void hidden_split_batch(Workspace *w, BatchBuffers *batch, ChunkScratch *scratch,
                               const RbmDataset *data, const Shape *shape,
                               const UpdateRule *rule, int worker, int workers)
{
    PhaseTimer *timer = &scratch->timer;
    const int64_t chunks = rbm_chunk_count(shape, batch->rows);
    for (int64_t chunk = worker; chunk < chunks; chunk += workers)
        rbm_hidden_sample_visible(batch, scratch, data, shape, chunk);
    const bool has_strips = worker < shape->strips;
    BARRIER(timer);
    if (has_strips)
        rbm_hidden_take_samples(scratch, batch, shape, 0);
    for (int64_t strip = worker; strip < shape->strips; strip += workers)
        rbm_hidden_forward(batch, scratch, &w->params, shape, strip);
    for (int64_t step = 1; step <= shape->cd_steps; step++) {
        BARRIER(timer);
        for (int64_t unit = worker; unit < shape->strips; unit += workers)
            rbm_hidden_visible_step(batch, scratch, &w->params, &w->velocity, data, shape, rule,
                                    unit, step);
        BARRIER(timer);
        if (has_strips)
            rbm_hidden_take_samples(scratch, batch, shape, step);
        for (int64_t strip = worker; strip < shape->strips; strip += workers)
            rbm_hidden_hidden_step(batch, scratch, &w->params, &w->velocity, shape, rule, strip,
                                   step);
    }
}

/* The worker pool: every thread runs this, from the cursor to the last epoch. */
static void work(Workspace *w, Control *control, const RbmSettings *settings,
                 const RbmDataset *data, const Shape *shape, const RbmTrainHooks *hooks)
{
    const int worker = omp_get_thread_num(), workers = omp_get_num_threads();
    ChunkScratch *scratch = &w->scratch[worker];
    PhaseTimer *timer = &scratch->timer;
    const int64_t N = data->rows, B = shape->batch_size;
    const int64_t batches = (N + B - 1) / B;
    const uint64_t draws = rbm_draws_per_sample(shape);
    const int64_t first_epoch = control->progress.epoch, first_batch = control->progress.batch;
    int stopped_inside_epoch = 0;
    for (int64_t epoch = first_epoch; epoch < settings->epochs && !control->stop; epoch++) {
        const UpdateRule rule = rbm_rule_for_epoch(settings, epoch); /* every worker alike */
        if (w->order) {
            if (worker == 0)
                rbm_shuffle_order(w->order, N, settings->seed, epoch);
            BARRIER(timer);
        }
        for (int64_t b = epoch == first_epoch ? first_batch : 0; b < batches; b++) {
            BatchBuffers batch = w->batch;
            batch.first_row = b * B;
            batch.rows = N - batch.first_row < B ? N - batch.first_row : B;
            batch.first_draw = ((uint64_t)epoch * (uint64_t)N + (uint64_t)batch.first_row) * draws;
            batch.order = w->order;
            batch.chains = w->chains;
            batch.chains_start = epoch == 0 && b == 0;
            const int64_t chunks = rbm_chunk_count(shape, batch.rows);
            if (shape->split_hidden)
                hidden_split_batch(w, &batch, scratch, data, shape, &rule, worker, workers);
            else
                rows_split_batch(w, &batch, scratch, data, shape, &rule, worker, workers);
            if (worker == 0 && !shape->products_only) {
                const int64_t units = shape->split_hidden ? shape->strips : chunks;
                double batch_error = 0;
                for (int64_t unit = 0; unit < units; unit++)
                    batch_error += batch.chunk_squared_error[unit];
                after_batch(control, settings, hooks, epoch, b, batches,
                            batch.first_row + batch.rows, batch_error);
            }
            BARRIER(timer);
            /* Every thread reads the shared flags between two barriers, where worker 0 does
             * not write them: after_batch writes them before the barrier above, and nothing
             * writes them again before the next batch's first barrier. */
            if (control->checkpoint_now) { /* every update of this batch is done */
                if (worker == 0)
                    write_checkpoint(control, settings, data, shape, w);
                BARRIER(timer);
            }
            if (control->stop) {
                stopped_inside_epoch = b + 1 < batches;
                break;
            }
        }
        if (stopped_inside_epoch)
            break;
        if (!shape->products_only)
            for (int64_t unit = worker; unit < w->monitor_units; unit += workers)
                monitor_unit(w, shape, settings, scratch, unit);
        BARRIER(timer); /* everyone has read this batch's flags before after_epoch writes */
        if (worker == 0)
            after_epoch(control, settings, data, shape, w, hooks, epoch);
        BARRIER(timer);
    }
}

/* The workers one RBM of `hidden` units on rows x visible data uses (rbm_training_threads). */
static int threads_for_rbm(const RbmSettings *settings, int64_t hidden, int64_t rows,
                           int64_t visible)
{
    if (settings->threads > 0)
        return (int)settings->threads;
    /* All cores, but no more workers than a batch has units of work (its sampling chunks or its
     * update strips, whichever are more). The others would only wait at the barriers, spinning
     * on cores that other jobs of a shared server could use: on 16 cores, 16 threads ran the
     * default units no faster than 2 (BENCHMARKS.md, "16 cores"). The per-epoch monitors
     * have more units, but they are a small part of an epoch. */
    const int64_t batch = settings->batch_size < rows ? settings->batch_size : rows;
    const int64_t chunk_rows = settings->chunk_rows < batch ? settings->chunk_rows : batch;
    int64_t strips = settings->update_strips ? settings->update_strips
                                             : rbm_auto_strips(visible, hidden);
    const int64_t strip_limit = settings->split == RBM_SPLIT_HIDDEN && hidden < visible ? hidden
                                                                                       : visible;
    if (strips > strip_limit)
        strips = strip_limit;
    int64_t units = chunk_rows > 0 ? (batch + chunk_rows - 1) / chunk_rows : 1;
    if (strips > units)
        units = strips;
    const int cores = rbm_default_threads();
    return units < 1 ? 1 : units < cores ? (int)units : cores;
}

int rbm_training_threads(const RbmSettings *settings, int64_t rows, int64_t visible)
{
    if (settings->layers.count < 2)
        return threads_for_rbm(settings, settings->hidden, rows, visible);
    int most = 1; /* a stack: the most any of its RBMs uses */
    for (int64_t k = 1; k < settings->layers.count; k++) {
        int threads = threads_for_rbm(settings, settings->layers.values[k], rows,
                                      settings->layers.values[k - 1]);
        most = threads > most ? threads : most;
    }
    return most;
}

/* The forward products are sums of the ones (Shape.ones_forward) where the data's mean,
 * over its first ONES_SAMPLE_ROWS rows, is at most ONES_MAX_SHARE. Where the sums and the
 * dense product cost the same, from build/bench/bench_ones on uniform samples (BENCHMARKS.md,
 * "Session 12" and "Session 13"): on a Zen 3 with AVX2 the sums still win at 50% ones (205
 * against 284 us); on a Xeon (family 6 model 207) against the AVX-512 dense products, the
 * forward sums and the gradient's sums that come with them win at 29% (691 against 789 us)
 * and lose at 35% (861 against 792) and 50% (978 against 772). */
#define ONES_SAMPLE_ROWS 1000
#define ONES_MAX_SHARE (RBM_PRODUCTS_AVX512 ? 0.32 : 0.6)

static double mean_probability(const RbmDataset *data, int64_t rows)
{
    const int64_t count = (rows < data->rows ? rows : data->rows) * data->columns;
    double sum = 0;
    for (int64_t i = 0; i < count; i++)
        sum += data->bytes ? data->byte_to_probability[data->bytes[i]] : data->values[i];
    return count ? sum / (double)count : 0.0;
}

/* Trains; or, with products_only, runs exactly the same matrix products on the same schedule
 * and nothing else (rbm bench's floors: OpenBLAS's, or the own kernels'). */
int rbm_train_layer(RbmModel **out, const RbmSettings *settings, const RbmDataset *data,
                    const RbmTrainHooks *hooks, const LayerJob *job, RbmError *error)
{
    *out = NULL;
    const bool products_only = job->products_only;
    int result = 0;
    const int64_t N = data->rows;
    Shape shape = {
        .visible = data->columns,
        .hidden = settings->hidden,
        .batch_size = settings->batch_size < N ? settings->batch_size : N,
    };
    shape.chunk_rows = settings->chunk_rows < shape.batch_size ? settings->chunk_rows
                                                              : shape.batch_size;
    shape.products_only = products_only;
    shape.openblas_products = products_only && !job->own_products;
    shape.strips = settings->update_strips ? settings->update_strips
                                           : rbm_auto_strips(shape.visible, shape.hidden);
    /* column strips (split = rows) or hidden strips and column units (split = hidden): none
     * may be empty */
    const int64_t strip_limit = settings->split == RBM_SPLIT_HIDDEN && shape.hidden < shape.visible
                                    ? shape.hidden
                                    : shape.visible;
    if (shape.strips > strip_limit)
        shape.strips = strip_limit;
    shape.cd_steps = settings->cd_steps;
    shape.persistent = settings->persistent;
    shape.sparsity = settings->sparsity_cost > 0;
    shape.split_hidden = settings->split == RBM_SPLIT_HIDDEN;
    const int threads = threads_for_rbm(settings, shape.hidden, N, shape.visible);
    /* With one worker nobody else holds W in a cache, and W's next reader is this worker:
     * plain stores keep it cached. With more, the update writes lines the others read, unless
     * W is split by hidden units, each strip staying with one worker. */
    shape.streaming_updates = threads > 1 && !shape.split_hidden;
    shape.bit_counts = settings->bit_counts;
    /* With several workers, each update strip reads every chunk's samples, most of them written
     * by other cores: as bytes they are a quarter of the size to fetch. One worker reads its own
     * floats where they are. The products see the same floats either way. */
    shape.byte_handover = threads > 1 && !shape.split_hidden;
    /* The bytes handed over are read next by the other workers, whose caches hold their lines
     * from the last batch: streaming stores write them without taking the lines back first.
     * One worker reads its own bytes next, from its cache. */
    shape.streaming_samples = threads > 1;
    shape.workers = threads;
    shape.partial_stride = rbm_partial_stride(&shape);
    shape.partial_block = rbm_partial_block(&shape);
    /* The own forward product (gemm.h) reads W^T; OpenBLAS packs W itself */
    shape.transposed_forward = RBM_PRODUCTS_OWN && !shape.openblas_products;
    /* The forward products as sums of the rows where the samples are 1: the same bits as the
     * dense products, and faster while the samples are fewer ones than ONES_MAX_SHARE (with
     * AVX2, 139 against 289 us for a strip's product at Fashion-MNIST's 29%; with AVX-512
     * about even there, build/bench/bench_ones, BENCHMARKS.md, "Session 12" and "Session
     * 13"). The samples' share of ones is about the data's mean. Not for rbm bench's products
     * alone, whose samples are not drawn. Never a change in the bits, only in the time. */
    shape.ones_forward = RBM_PRODUCTS_SUMS && RBM_PRODUCT_ONES && shape.transposed_forward &&
                         shape.split_hidden && !products_only &&
                         shape.visible <= RBM_ONES_MAX_DEPTH &&
                         mean_probability(data, ONES_SAMPLE_ROWS) <= ONES_MAX_SHARE;
    /* The partial reconstructions h_s W_s as sums too: hidden samples are about 7% ones once
     * an RBM has learnt Fashion-MNIST's features, 50% at the start (BENCHMARKS.md, "Session
     * 12"); at 7% the sums take half the dense time with AVX2 and with AVX-512 ("Session
     * 13"). */
    shape.ones_reverse = RBM_PRODUCTS_SUMS && RBM_PRODUCT_ONES && shape.transposed_forward &&
                         shape.split_hidden && !products_only &&
                         rbm_widest_hidden_strip(&shape) <= RBM_ONES_MAX_DEPTH;
    /* The gradient's h0^T v0 as bit counts from which the rest of its sums go on: the same
     * bits as the dense product (gemm.h), 386 against 537 us for a strip's product at hidden
     * 300 with AVX2 (bench_ones, BENCHMARKS.md, "Session 12"). With AVX-512 that kernel alone
     * (AVX2 code) is no faster than the dense product (522 against 517 us, "Session 13"): it
     * is taken there only for the sums of the ones below, which need its counts. Batches
     * under 512 rows, whose rest of the product is shallow; the bit counts of `bit_counts`
     * round twice instead, and keep their own path. */
    shape.counted_gradient = RBM_PRODUCT_TN_COUNTED && shape.transposed_forward &&
                             shape.split_hidden && !shape.bit_counts && !products_only &&
                             shape.batch_size < 512 &&
                             (RBM_PRODUCTS_AVX2 || shape.ones_forward);
    /* and the rest of its sums without the zero terms of -vn, whose share of ones is about
     * the data's mean, as for the forward products: 223 against 386 us for a strip's step at
     * 29% ones with AVX2 (build/bench/bench_ones, BENCHMARKS.md, "Session 12"), 432 against
     * 517 for the AVX-512 dense product ("Session 13") */
    shape.ones_gradient = shape.counted_gradient && shape.ones_forward;
    /* Each RBM of a stack draws from a stream of its own. */
    const uint64_t stream = RBM_STREAM + ((uint64_t)(job->layer - 1) << 16);

    Workspace w = {0};
    RbmDataset *train_subset = NULL;
    if (job->validation && !products_only) {
        if (job->validation->columns != data->columns)
            return rbm_fail(error, -EINVAL, "%s: the validation data has %lld columns, the "
                                            "training data %lld",
                            job->validation->path, (long long)job->validation->columns,
                            (long long)data->columns);
        int64_t subset = settings->monitor_rows < N ? settings->monitor_rows : N;
        if (rbm_dataset_head(&train_subset, data, subset) < 0)
            return rbm_fail(error, -ENOMEM, "out of memory");
        w.validation = job->validation;
        w.train_subset = train_subset;
        w.validation_units = rbm_chunk_count(&shape, job->validation->rows);
        w.monitor_units = w.validation_units + rbm_chunk_count(&shape, subset);
    }
    RbmModel *model = NULL;
    Control *control = NULL;
    if (rbm_model_new(&model, shape.visible, shape.hidden) == -EINVAL) {
        rbm_dataset_free(train_subset);
        return rbm_fail(error, -EINVAL, "a %lld x %lld model is larger than rbm supports",
                        (long long)shape.hidden, (long long)shape.visible);
    }
    control = rbm_calloc(1, sizeof *control);
    if (!model || !control ||
        allocate_workspace(&w, &shape, threads, settings->seed, stream, N,
                           settings->shuffle && !products_only) < 0) {
        free(control);
        free_workspace(&w);
        rbm_dataset_free(train_subset);
        rbm_model_free(model);
        return rbm_fail(error, -ENOMEM, "out of memory for a %lld x %lld model with %d threads",
                        (long long)shape.hidden, (long long)shape.visible, threads);
    }
    control->progress = (Progress){0, 0, 0.0, NAN, job->layer};
    control->layer = job->layer;
    control->layers = job->layers;
    if (hooks->resume) {
        result = rbm_checkpoint_load(hooks->resume, settings, fingerprint_of(control, data),
                                     &shape, &w.params, &w.velocity, w.chains,
                                     &control->progress, error);
        if (result == 0 && control->progress.batch >= (N + shape.batch_size - 1) / shape.batch_size)
            result = rbm_fail(error, -EINVAL, "%s: batch %lld is past the end of an epoch",
                              hooks->resume, (long long)control->progress.batch);
        if (result == 0 && (control->progress.epoch > settings->epochs ||
                            (control->progress.epoch == settings->epochs &&
                             control->progress.batch > 0)))
            result = rbm_fail(error, -EINVAL,
                              "%s: the checkpoint is past epoch %lld already; train.epochs = "
                              "%lld cannot go back",
                              hooks->resume, (long long)control->progress.epoch,
                              (long long)settings->epochs);
    } else {
        initialise_weights(w.params.weights, (size_t)(shape.hidden * shape.visible),
                           settings->init_std, settings->seed, stream);
        if (settings->visible_bias_init == RBM_VISIBLE_BIAS_DATA && !products_only &&
            rbm_visible_bias_from_data(w.params.visible_bias, data) < 0)
            result = rbm_fail(error, -ENOMEM, "out of memory");
    }
    RbmProfile *profile = hooks->profile;
    if (result == 0 && profile && (!profile->per_worker || profile->workers < threads)) {
        /* A stack's profile adds up its RBMs, and a later RBM may use more workers. */
        RbmPhaseStats *grown = rbm_calloc((size_t)threads * RBM_PHASE_COUNT, sizeof *grown);
        if (!grown) {
            result = rbm_fail(error, -ENOMEM, "out of memory");
        } else {
            if (profile->per_worker)
                memcpy(grown, profile->per_worker,
                       (size_t)profile->workers * RBM_PHASE_COUNT * sizeof *grown);
            free(profile->per_worker);
            profile->per_worker = grown;
            profile->workers = threads;
        }
    }
    if (result == 0 && profile) {
        profile->forward_ones |= shape.ones_forward;
        profile->reverse_ones |= shape.ones_reverse;
        profile->counted_gradient |= shape.counted_gradient;
        for (int t = 0; t < threads && result == 0; t++)
            w.scratch[t].timer.stats = profile->per_worker + (size_t)t * RBM_PHASE_COUNT;
    }
    if (result != 0) {
        free(control);
        free_workspace(&w);
        rbm_dataset_free(train_subset);
        rbm_model_free(model);
        return result;
    }

    omp_set_dynamic(0);
    const double run_start = rbm_now();
    control->epoch_start = control->last_checkpoint = run_start;
    control->resumed_batch = control->progress.batch;
#pragma omp parallel num_threads(threads)
    work(&w, control, settings, data, &shape, hooks);
    if (profile)
        profile->wall_seconds += rbm_now() - run_start;

    size_t parameter_count = (size_t)(shape.hidden * shape.visible + shape.hidden + shape.visible);
    memcpy(model->weights, w.params.weights, parameter_count * sizeof(float));
    free_workspace(&w);
    rbm_dataset_free(train_subset);
    result = control->result;
    if (result != 0 && result != -EINTR) {
        rbm_fail(error, result, "%s", control->error.message);
        free(control);
        rbm_model_free(model);
        return result;
    }
    if (result == -EINTR) {
        char path[RBM_PATH_MAX + 8];
        rbm_checkpoint_path(settings, path);
        rbm_fail(error, -EINTR, "stopped on request in epoch %lld before batch %lld; "
                                "checkpoint written to %s",
                 (long long)control->progress.epoch + 1, (long long)control->progress.batch + 1,
                 path);
    }
    /* Only the keys the result depends on: the model file is then the same, byte for byte,
     * whatever the thread count or output paths. */
    model->config_text = rbm_settings_text(settings, RBM_KEYS_RESULT);
    int64_t epochs_done = control->progress.epoch;
    model->metadata_json = metadata_json(settings, data, epochs_done,
                                         control->progress.last_epoch_error);
    free(control);
    if (!model->config_text || !model->metadata_json) {
        rbm_model_free(model);
        return rbm_fail(error, -ENOMEM, "out of memory");
    }
    *out = model;
    return result;
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

static int measure_floor(const RbmSettings *settings, const RbmDataset *data,
                         double *epoch_seconds, bool own_products, RbmError *error)
{
    FloorTimes times = {epoch_seconds, 0};
    RbmTrainHooks hooks = {record_floor_epoch, &times, NULL};
    RbmModel *model = NULL;
    int result = rbm_settings_check(settings, error);
    if (result == 0)
        result = rbm_check_blas(error);
    LayerJob job = {1, 1, NULL, true, own_products};
    if (result == 0)
        result = rbm_train_layer(&model, settings, data, &hooks, &job, error);
    rbm_model_free(model);
    return result;
}

int rbm_measure_floor(const RbmSettings *settings, const RbmDataset *data, double *epoch_seconds,
                      RbmError *error)
{
    return measure_floor(settings, data, epoch_seconds, false, error);
}

int rbm_measure_own_floor(const RbmSettings *settings, const RbmDataset *data,
                          double *epoch_seconds, RbmError *error)
{
    return measure_floor(settings, data, epoch_seconds, true, error);
}
