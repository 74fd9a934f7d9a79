/*
 * rbm: Restricted Boltzmann Machines trained by contrastive divergence on every core,
 * byte-identical for any thread count.
 *
 * Conventions (as in dav1d): every call returns 0 or a negative errno value and never prints
 * or exits; a call that fails fills the RbmError it was given with a readable message that
 * names the file, line or byte offset and the reason. -EINVAL and -ENOENT mean the input
 * (settings, arguments, data, model file) is wrong; anything else (-ENOMEM, -EIO, -ENOSPC...)
 * is a failure of the machine.
 */
#ifndef RBM_RBM_H
#define RBM_RBM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RBM_BUILDING_LIBRARY)
#define RBM_API __attribute__((visibility("default")))
#else
#define RBM_API
#endif

#define RBM_PATH_MAX 4096

#define RBM_MAX_LAYERS 16 /* RBMs in one stack (Deep Belief Network) */

/* A comma-separated list of whole numbers in a config file, e.g. layers = 784,500,2000. */
typedef struct RbmIntList {
    int64_t count; /* 0: the key is not set */
    int64_t values[RBM_MAX_LAYERS + 1];
} RbmIntList;

typedef enum RbmVisibleBiasInit {
    RBM_VISIBLE_BIAS_ZERO = 0,
    RBM_VISIBLE_BIAS_DATA, /* log(p / (1 - p)) of the training means p, clipped to [0.001, 0.999] */
} RbmVisibleBiasInit;

/* How a mini-batch's work is cut into the units the workers share. */
typedef enum RbmSplit {
    RBM_SPLIT_ROWS = 0, /* chunks of the batch's rows, then column strips of W: every worker
                           reads all of W each batch, and the strips' updates cross cores */
    RBM_SPLIT_HIDDEN,   /* strips of hidden units (rows of W), each kept by one worker for the
                           whole run: only the samples and partial products cross cores */
} RbmSplit;

typedef struct RbmError {
    char message[1536]; /* "" when no error */
} RbmError;

/* ---------------------------------------------------------------- settings */

typedef enum RbmDataFormat {
    RBM_FORMAT_AUTO = 0, /* by extension, then by content */
    RBM_FORMAT_CSV,
    RBM_FORMAT_IDX,
    RBM_FORMAT_NPY,
} RbmDataFormat;

/* Every field has a key in the config file, [section] key; src/settings_table.h declares each
 * one once, with its type, default, range and documentation. */
typedef struct RbmSettings {
    /* [data] */
    char train_path[RBM_PATH_MAX]; /* train: no default; required */
    RbmDataFormat format;          /* format = auto */
    double scale;                  /* scale = auto (stored as 0): 255 for 8-bit data, else 1 */
    int64_t limit;                 /* limit = 0: train on the first N rows; 0 = all */
    char validation_path[RBM_PATH_MAX]; /* validation = "" (none): a held-out data file */
    double validation_fraction;    /* validation_fraction = 0: hold out this share of the rows
                                      (the last ones) instead */
    /* [model] */
    int64_t hidden;  /* hidden = 300 */
    double init_std; /* init_std = 0.01: weights ~ N(0, init_std^2), biases 0 */
    RbmVisibleBiasInit visible_bias_init; /* visible_bias_init = zero */
    RbmIntList layers; /* layers = "" (one RBM of `hidden` units); 784,500,2000: a stack */
    /* [train] */
    int64_t epochs;       /* epochs = 10 */
    int64_t batch_size;   /* batch_size = 100; the last partial batch is trained */
    double learning_rate; /* learning_rate = 0.1 */
    double momentum;      /* momentum = 0.9 (unless momentum_switch_epoch > 0) */
    double momentum_initial;       /* momentum_initial = 0.5: epochs 1..switch, if switching */
    double momentum_final;         /* momentum_final = 0.9: epochs after the switch */
    int64_t momentum_switch_epoch; /* momentum_switch_epoch = 0: 0 = constant `momentum` */
    double learning_rate_decay;    /* learning_rate_decay = 0: rate / (1 + decay * (epoch-1)) */
    int64_t cd_steps;              /* cd_steps = 1: Gibbs steps per negative phase (CD-k) */
    int persistent;                /* persistent = false: persistent CD chains (PCD) */
    int shuffle;                   /* shuffle = false: a new seeded order every epoch */
    double sparsity_target;        /* sparsity_target = 0.1: wanted mean hidden probability */
    double sparsity_cost;          /* sparsity_cost = 0: 0 = no sparsity penalty */
    RbmIntList layer_epochs;       /* layer_epochs = "": epochs per layer of a stack */
    double weight_decay;  /* weight_decay = 0: L2 penalty on the weights */
    uint64_t seed;        /* seed = 1 */
    int64_t threads;      /* 0 = all cores, at most one per unit of work; never changes the result */
    int64_t chunk_rows;   /* chunk_rows = 50: rows per sampling work unit */
    int64_t update_strips; /* update_strips = 0: strips of W per batch (0 = auto) */
    RbmSplit split;       /* split = hidden: how a batch's work is cut into units */
    int bit_counts;       /* bit_counts = false: the gradient's h0^T v0 as exact bit counts */
    /* [output] */
    char model_path[RBM_PATH_MAX]; /* model = model.npz */
    char log_path[RBM_PATH_MAX];   /* log = "" (none): JSON lines, one per epoch */
    char checkpoint_path[RBM_PATH_MAX]; /* checkpoint = "": the model's path + ".ckpt" */
    int64_t checkpoint_every;      /* checkpoint_every = 0: after every N epochs (0 = off) */
    double checkpoint_seconds;     /* checkpoint_seconds = 300: at most S seconds apart (0 = off) */
    int64_t monitor_rows;          /* monitor_rows = 1000: training rows compared with the
                                      validation set each epoch */
} RbmSettings;

/* One config key, for help texts and documentation. */
typedef struct RbmSettingInfo {
    const char *section;       /* "data", "model", "train", "output" */
    const char *name;          /* "hidden" */
    const char *type;          /* "integer", "number", "seed", "path", "format", "scale",
                                  "boolean", "choice", "list" */
    const char *default_value; /* as written in a config file */
    const char *doc;           /* one line */
    int affects_result;        /* 1 when changing it changes the trained model */
} RbmSettingInfo;

RBM_API void rbm_default_settings(RbmSettings *settings);
RBM_API int rbm_settings_count(void);
RBM_API const RbmSettingInfo *rbm_settings_info(int index);

/* Applies an INI file on top of *settings. Unknown sections or keys, syntax errors, keys given
 * twice and values with trailing garbage are errors naming file:line. */
RBM_API int rbm_settings_load_file(RbmSettings *settings, const char *path, RbmError *error);
/* The same for a config held in memory; `origin` names it in messages. */
RBM_API int rbm_settings_load_string(RbmSettings *settings, const char *text, const char *origin,
                                     RbmError *error);
/* Applies one "section.key=value" override (as from `rbm train -s`). */
RBM_API int rbm_settings_override(RbmSettings *settings, const char *assignment, RbmError *error);
/* Returns 0, or -EINVAL with the reason, before any work is done (liblinear's check_parameter). */
RBM_API int rbm_settings_check(const RbmSettings *settings, RbmError *error);
typedef enum RbmKeySelection {
    RBM_KEYS_ALL,    /* every key */
    RBM_KEYS_RESULT, /* only the keys the trained model depends on (not threads, not [output]) */
} RbmKeySelection;
/* Writes the selected keys as INI text (a model stores RBM_KEYS_RESULT). Returns the length
 * that the full text needs, excluding the terminating NUL, like snprintf. */
RBM_API size_t rbm_settings_format(const RbmSettings *settings, RbmKeySelection keys, char *out,
                                   size_t size);

/* ---------------------------------------------------------------- data */

typedef struct RbmDataset RbmDataset; /* opaque: rows x columns, bytes or floats, labels */

/* Loads a data set. scale 0 = auto. limit 0 = all rows. Every value must lie in [0,1] after
 * scaling. Errors name the file and the line (CSV) or byte offset (IDX, .npy). */
RBM_API int rbm_dataset_load(RbmDataset **out, const char *path, RbmDataFormat format,
                             double scale, int64_t limit, RbmError *error);
RBM_API void rbm_dataset_free(RbmDataset *dataset);
/* A data set of the first `rows` rows of `dataset`, sharing its memory (free the view before
 * the data set). */
RBM_API int rbm_dataset_head(RbmDataset **out, const RbmDataset *dataset, int64_t rows);
/* The same for rows [first, first + rows). */
RBM_API int rbm_dataset_slice(RbmDataset **out, const RbmDataset *dataset, int64_t first,
                              int64_t rows);
RBM_API int64_t rbm_dataset_rows(const RbmDataset *dataset);
RBM_API int64_t rbm_dataset_columns(const RbmDataset *dataset);
RBM_API int rbm_dataset_is_8bit(const RbmDataset *dataset);
/* Copies row `row` as probabilities in [0,1] (after scaling) into out[columns]. */
RBM_API void rbm_dataset_row(const RbmDataset *dataset, int64_t row, float *out);

/* ---------------------------------------------------------------- model */

typedef struct RbmModel {
    int64_t visible;
    int64_t hidden;
    float *weights;      /* [hidden][visible] */
    float *hidden_bias;  /* [hidden] */
    float *visible_bias; /* [visible] */
    char *config_text;   /* the settings it was trained with, as INI text; may be NULL */
    char *metadata_json; /* seed, epochs trained, final metrics...; may be NULL */
    struct RbmModel *next; /* a stack (DBN): the RBM above, whose visible units are this one's
                              hidden units; NULL for the top (or only) RBM. Owned: freed and
                              saved with this one; config and metadata live in the first. */
} RbmModel;

RBM_API int rbm_model_new(RbmModel **out, int64_t visible, int64_t hidden);
RBM_API void rbm_model_free(RbmModel *model);
/* Writes a NumPy .npz (float32 arrays weights, hidden_bias, visible_bias; strings config and
 * metadata) to a temporary file in the same directory, then renames it into place. The RBMs
 * above the first in a stack are stored as layer2_weights, layer2_hidden_bias,
 * layer2_visible_bias, layer3_..., and loaded back into the `next` chain. */
RBM_API int rbm_model_save(const RbmModel *model, const char *path, RbmError *error);
RBM_API int rbm_model_load(RbmModel **out, const char *path, RbmError *error);
/* The RBMs of a stack: 1 for a single RBM. */
RBM_API int64_t rbm_model_layers(const RbmModel *model);

/* out[rows][top hidden] = hidden probabilities of every row of `data`, through every RBM of
 * the stack (each layer's input is the layer below's probabilities). Deterministic for any
 * thread count (threads 0 = all cores). *out is allocated; free() it. */
RBM_API int rbm_model_transform(const RbmModel *model, const RbmDataset *data, int threads,
                                float **out, RbmError *error);
/* out[rows][visible] = mean-field reconstructions: up through every RBM, then back down. */
RBM_API int rbm_model_reconstruct(const RbmModel *model, const RbmDataset *data, int threads,
                                  float **out, RbmError *error);

/* ---------------------------------------------------------------- training */

typedef struct RbmEpochReport {
    int64_t epoch;             /* 1-based */
    int64_t epochs;            /* of the run */
    double recon_error;        /* mean over samples and visible units of (v0p - vnp)^2 */
    double seconds;            /* wall time of the epoch */
    double samples_per_second; /* samples / seconds */
    /* With a validation set (NaN without one), from the parameters at the epoch's end,
     * deterministic (no sampling): */
    double validation_recon_error; /* as recon_error, with vnp the mean-field reconstruction */
    double free_energy_train;      /* mean free energy of the first monitor_rows training rows */
    double free_energy_validation; /* mean free energy of the validation rows */
    double free_energy_gap;        /* validation - train: grows when the model overfits
                                      (Hinton, "A practical guide to training RBMs", 6) */
    double pseudo_likelihood;      /* mean over validation rows, as scikit-learn's
                                      BernoulliRBM.score_samples (one unit flipped per row) */
    int64_t layer;                 /* 1-based RBM of a stack (1 for a single RBM) */
    int64_t layers;
} RbmEpochReport;

/* Progress within an epoch, for progress bars. */
typedef struct RbmBatchReport {
    int64_t epoch, epochs;   /* 1-based epoch of the run */
    int64_t batch, batches;  /* batches done in this epoch, of */
    int64_t samples;         /* rows done in this epoch */
    int64_t layer, layers;   /* 1-based RBM of a stack */
    double epoch_seconds;    /* since the epoch started (or resumed) */
    int64_t resumed_batch;   /* batches of this epoch done before a resume (not timed) */
} RbmBatchReport;
typedef void (*RbmBatchCallback)(const RbmBatchReport *report, void *user);

/* Called by one thread after each epoch, while the others wait. Return non-zero to stop. */
typedef int (*RbmEpochCallback)(const RbmEpochReport *report, void *user);

/* Where a worker's time goes (rbm train --profile). */
typedef enum RbmPhase {
    RBM_PHASE_CONVERT,         /* data rows to probabilities */
    RBM_PHASE_FORWARD_SGEMM,   /* v0 W^T and vn W^T */
    RBM_PHASE_REVERSE_SGEMM,   /* h0 W */
    RBM_PHASE_GRADIENT_SGEMM,  /* [h0; hnp]^T [v0; -vn], momentum folded in */
    RBM_PHASE_SIGMOID,
    RBM_PHASE_SAMPLING,        /* random numbers and Bernoulli draws */
    RBM_PHASE_UPDATE,          /* statistics sums, bias and weight updates */
    RBM_PHASE_BARRIER,         /* waiting for the other workers */
    RBM_PHASE_COUNT
} RbmPhase;

typedef struct RbmPhaseStats {
    int64_t calls;
    double seconds;
    double flops; /* sgemm phases: 2*M*N*K summed */
} RbmPhaseStats;

/* Start from {0}. A stack's RBMs add up in it: the most workers any RBM used, their phases, and
 * the training loops' seconds. */
typedef struct RbmProfile {
    int workers;               /* filled in by rbm_train */
    double wall_seconds;       /* the training loops */
    RbmPhaseStats *per_worker; /* [workers][RBM_PHASE_COUNT], allocated by rbm_train */
    /* Filled in by rbm_train: products that ran with fewer flops than the dense ones, for the
     * same bits; their GFLOP/s still count the dense products' flops */
    int forward_ones;          /* the forward products as sums of the rows where the samples
                                  are 1 */
    int reverse_ones;          /* the reverse products (h W) as the same kind of sums */
    int counted_gradient;      /* the gradient's h0^T v0 as bit counts */
} RbmProfile;

RBM_API const char *rbm_phase_name(RbmPhase phase);
RBM_API void rbm_profile_free(RbmProfile *profile); /* frees per_worker */

/* What a caller may hook into a run; every field may be NULL. */
typedef struct RbmTrainHooks {
    RbmEpochCallback on_epoch;
    void *user;           /* passed to on_epoch and on_batch */
    RbmProfile *profile;  /* when not NULL, phases are timed (costs well under 2%) */
    const char *resume;   /* a checkpoint to continue from */
    /* Polled at every mini-batch boundary; when non-zero (e.g. set by a signal handler) the
     * run writes a checkpoint and returns -EINTR with the model so far in *out. */
    volatile int *stop_request;
    /* Called by one thread after every mini-batch; keep it quick (draw a progress bar). */
    RbmBatchCallback on_batch;
    /* Held-out rows for the per-epoch monitors (or set data.validation_fraction). */
    const RbmDataset *validation;
} RbmTrainHooks;

/* The checkpoint file settings name (output.checkpoint, or output.model + ".ckpt"). */
RBM_API void rbm_checkpoint_path(const RbmSettings *settings, char out[RBM_PATH_MAX + 8]);

/* Trains a new model on `data` with `settings` (checked first), or continues the run in
 * hooks->resume. *out receives the model, with its config and metadata filled in. Returns 0;
 * -EINTR when stopped by *hooks->stop_request (*out then holds the model so far, and the
 * checkpoint is written); -ERANGE when training diverged (non-finite values; the message
 * names the epoch and batch; no checkpoint is written over the last good one); or another
 * error. Checkpoints go to rbm_checkpoint_path(). hooks may be NULL. */
RBM_API int rbm_train(RbmModel **out, const RbmSettings *settings, const RbmDataset *data,
                      const RbmTrainHooks *hooks, RbmError *error);

/* The sgemm floor: the matrix products that rbm_train would run for `settings` on `data`, each
 * as one single-threaded OpenBLAS sgemm of the same shape (same split across the same threads,
 * same barriers), and nothing else, for settings->epochs epochs; epoch_seconds[epochs]
 * receives each epoch's time. */
RBM_API int rbm_measure_floor(const RbmSettings *settings, const RbmDataset *data,
                              double *epoch_seconds, RbmError *error);
/* The same dense products by rbm's own kernels where the build has them (AVX-512 or AVX2; the
 * forward products on a W^T made once per batch, that making included), and no OpenBLAS;
 * in a plain C build, OpenBLAS, as rbm_measure_floor. The trainer may take fewer flops for the
 * same bits (sums of the ones), which this does not. */
RBM_API int rbm_measure_own_floor(const RbmSettings *settings, const RbmDataset *data,
                                  double *epoch_seconds, RbmError *error);

/* out[n][visible] = samples from the model: n Gibbs chains of `steps` steps in the top RBM,
 * started from v ~ Bernoulli(sigmoid(vb)); chain c draws from a stream of its own, so the
 * result is the same for any thread count. The top RBM's visible probabilities are then passed
 * down the stack, mean-field. *out is allocated; free() it. */
RBM_API int rbm_model_sample(const RbmModel *model, int64_t n, int64_t steps, uint64_t seed,
                             int threads, float **out, RbmError *error);

/* Writes values[rows][columns] as a float32 .npy file, atomically. */
RBM_API int rbm_save_npy(const char *path, const float *values, int64_t rows, int64_t columns,
                         RbmError *error);

/* Writes `path` crash-safely: write_file fills the temporary file temp_path (a sibling of
 * path), which is then flushed to disk and renamed over path. On failure path is untouched. */
typedef int (*RbmWriteFunction)(const char *temp_path, void *user, RbmError *error);
RBM_API int rbm_write_atomically(const char *path, RbmWriteFunction write_file, void *user,
                                 RbmError *error);

/* ---------------------------------------------------------------- evaluation */

typedef struct RbmAisSettings {
    int64_t runs;         /* runs = 100: independent annealing runs */
    int64_t temperatures; /* temperatures = 14500: 0..0.5..0.9..1 in 500 : 4000 : 10000 steps */
    uint64_t seed;        /* seed = 1 */
    int threads;          /* threads = 0: all cores; never changes the result */
} RbmAisSettings;
RBM_API void rbm_default_ais_settings(RbmAisSettings *ais);

typedef struct RbmEvaluation {
    double recon_error;       /* mean (v - vp)^2, vp the mean-field reconstruction */
    double free_energy;       /* mean F(v) over the rows */
    double pseudo_likelihood; /* mean, as scikit-learn's score_samples */
    double log_z;             /* log partition function */
    double log_z_stderr;      /* 0 when exact */
    int log_z_exact;          /* 1: by enumeration (at most 20 hidden or 20 visible units) */
    double avg_log_prob;      /* mean log p(v) = -F(v) - log Z */
    int binarized;            /* 1 when the rows were not all 0/1 and were thresholded at 0.5
                                 for free_energy, pseudo_likelihood and avg_log_prob */
} RbmEvaluation;

/* Evaluates the first RBM of `model` on `data`. log Z is exact when the model has at most 20
 * hidden or 20 visible units, else estimated by AIS with `ais` (NULL: the defaults), from a
 * base-rate model fitted to the data's means. */
RBM_API int rbm_model_evaluate(const RbmModel *model, const RbmDataset *data,
                               const RbmAisSettings *ais, RbmEvaluation *out, RbmError *error);

/* ---------------------------------------------------------------- environment */

RBM_API const char *rbm_version(void);
/* 0 when the linked OpenBLAS is single-threaded (what training requires), else -ENOTSUP with
 * the reason. */
RBM_API int rbm_check_blas(RbmError *error);
/* OpenBLAS's configuration and core, e.g. "OpenBLAS 0.3.21 ... SINGLE_THREADED" and "Haswell". */
RBM_API const char *rbm_blas_config(void);
RBM_API const char *rbm_blas_core(void);
/* The vector kernels this build was compiled with (meson option `native`): "AVX-512+sums"
 * (AVX-512 with the sums of the ones, the default), "AVX-512" (built with
 * -DRBM_ONES_WITH_AVX512=0), "AVX2" (with the sums) or "plain C". With AVX-512 or AVX2 the
 * matrix products are rbm's own, and a seed trains the same bits on either; plain C builds use
 * OpenBLAS's products, whose last bits differ. */
RBM_API const char *rbm_kernels(void);
/* The number of cores: the most workers `threads = 0` starts. */
RBM_API int rbm_default_threads(void);
/* The workers a training run of `settings` on `rows` x `visible` data uses: `threads`, or for
 * threads = 0 every core, but no more than a batch has units of work (sampling chunks or
 * update strips, whichever are more). Each RBM of a stack counts its own; for a stack this
 * returns the most any of them uses. */
RBM_API int rbm_training_threads(const RbmSettings *settings, int64_t rows, int64_t visible);

#ifdef __cplusplus
}
#endif
#endif
