/* rbm train CONFIG [-s SECTION.KEY=VALUE]... */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_train_usage(FILE *out)
{
    RbmSettings defaults;
    rbm_default_settings(&defaults);
    fprintf(out,
            "usage: rbm train CONFIG [-s|--set SECTION.KEY=VALUE]... [--resume CHECKPOINT]\n"
            "                        [--profile] [--quiet]\n"
            "\n"
            "Trains an RBM (CD-k or persistent CD, with momentum), or a stack of them, on the data\nCONFIG names, and writes the model.\n"
            "Overrides apply after the file, in order. Exit status: 0 done, 2 bad arguments,\n"
            "config or data, 1 anything else, 130/143 stopped by SIGINT/SIGTERM.\n"
            "--resume continues a run from its checkpoint; the result is the same, byte for\n"
            "byte, as a run that was never stopped. --profile prints where the time went.\n"
            "On a terminal a progress bar shows each epoch's batches; --quiet prints errors only.\n"
            "SIGINT or SIGTERM finish the current mini-batch, write a checkpoint and the model\n"
            "so far, and print the command that resumes; a second SIGINT exits at once.\n"
            "\n"
            "keys (default; this build's defaults, all cores = %d):\n",
            rbm_default_threads());
    const char *section = "";
    for (int i = 0; i < rbm_settings_count(); i++) {
        const RbmSettingInfo *key = rbm_settings_info(i);
        if (strcmp(section, key->section) != 0) {
            section = key->section;
            fprintf(out, "  [%s]\n", section);
        }
        char shown[64];
        snprintf(shown, sizeof shown, "%s = %s", key->name,
                 key->default_value[0] ? key->default_value : "\"\"");
        fprintf(out, "    %-22s %s\n", shown, key->doc);
    }
}

typedef struct Progress {
    FILE *log;
    const char *log_path;
    int log_failed;
    int quiet;           /* --quiet: errors only */
    int terminal;        /* stderr is a terminal: a progress bar, redrawn in place */
    double last_drawn;   /* when the bar was last drawn */
    int bar_shown;       /* a bar is on the current line */
} Progress;

/* A JSON number, or null for NaN (JSON has no NaN). */
static const char *json_number(char *buffer, size_t size, double value)
{
    if (!isfinite(value))
        return "null";
    snprintf(buffer, size, "%.9g", value);
    return buffer;
}

static void on_batch(const RbmBatchReport *report, void *user)
{
    Progress *progress = user;
    double now = cli_now();
    if (progress->quiet || !progress->terminal ||
        (now - progress->last_drawn < 0.1 && report->batch < report->batches))
        return;
    progress->last_drawn = now;
    enum { BAR = 30 };
    char bar[BAR + 1];
    int filled = (int)(BAR * report->batch / report->batches);
    for (int i = 0; i < BAR; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR] = '\0';
    /* after a resume the clock covers only the batches since */
    const int64_t timed = report->batch - report->resumed_batch;
    double rate = report->epoch_seconds > 0 ? timed / report->epoch_seconds : 0;
    double eta = rate > 0 ? (report->batches - report->batch) / rate : 0;
    double samples_rate = report->batch > 0 ? rate * report->samples / report->batch : 0;
    char layer[32] = "";
    if (report->layers > 1)
        snprintf(layer, sizeof layer, "layer %lld/%lld ", (long long)report->layer,
                 (long long)report->layers);
    fprintf(stderr, "\r%sepoch %lld/%lld [%s] %lld/%lld batches  %.0f samples/s  ETA %.0f s \033[K",
            layer, (long long)report->epoch, (long long)report->epochs, bar,
            (long long)report->batch, (long long)report->batches, samples_rate, eta);
    progress->bar_shown = 1;
}

static int on_epoch(const RbmEpochReport *report, void *user)
{
    Progress *progress = user;
    char a[32], b[32], c[32], d[32], e[32], f[32];
    if (progress->bar_shown) {
        fprintf(stderr, "\r\033[K");
        progress->bar_shown = 0;
    }
    if (!progress->quiet) {
        char layer[32] = "";
        if (report->layers > 1)
            snprintf(layer, sizeof layer, "layer %lld/%lld ", (long long)report->layer,
                     (long long)report->layers);
        fprintf(stderr, "%sepoch %lld/%lld  recon_error %.6f  %.3f s  %.0f samples/s", layer,
                (long long)report->epoch, (long long)report->epochs, report->recon_error,
                report->seconds, report->samples_per_second);
        if (isfinite(report->validation_recon_error))
            fprintf(stderr, "  validation %.6f  free-energy gap %.3f  pseudo-likelihood %.3f",
                    report->validation_recon_error, report->free_energy_gap,
                    report->pseudo_likelihood);
        fprintf(stderr, "\n");
    }
    if (progress->log) {
        fprintf(progress->log,
                "{\"layer\": %lld, \"epoch\": %lld, \"recon_error\": %.9g, \"seconds\": %.6f, "
                "\"samples_per_second\": %.3f, \"validation_recon_error\": %s, "
                "\"free_energy_train\": %s, \"free_energy_validation\": %s, "
                "\"free_energy_gap\": %s, \"pseudo_likelihood\": %s}\n",
                (long long)report->layer, (long long)report->epoch, report->recon_error,
                report->seconds, report->samples_per_second,
                json_number(a, sizeof a, report->validation_recon_error),
                json_number(b, sizeof b, report->free_energy_train),
                json_number(c, sizeof c, report->free_energy_validation),
                json_number(d, sizeof d, report->free_energy_gap),
                json_number(e, sizeof e, report->pseudo_likelihood));
        (void)f;
        if (fflush(progress->log) != 0 && !progress->log_failed) {
            progress->log_failed = errno ? errno : EIO;
            fprintf(stderr, "rbm: %s: cannot write the log: %s\n", progress->log_path,
                    strerror(progress->log_failed));
        }
    }
    return 0;
}

static volatile int stop_signal;

static void on_stop_signal(int number)
{
    if (stop_signal) /* the second one: leave now; every file on disk is whole */
        _exit(128 + number);
    stop_signal = number;
}

static void install_signal_handlers(void)
{
    struct sigaction action = {0};
    action.sa_handler = on_stop_signal;
    action.sa_flags = SA_RESTART; /* a read of the data goes on; the stop comes after it */
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    /* A file size limit makes write() fail with EFBIG instead of killing the process. */
    signal(SIGXFSZ, SIG_IGN);
}

/* Prints argv as a shell command, quoting where needed, with --resume CHECKPOINT in place of
 * any earlier --resume. */
static void print_resume_command(int argc, char **argv, const char *checkpoint)
{
    fprintf(stderr, "rbm: resume with:\n  rbm train");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--resume") == 0) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "--profile") == 0)
            continue;
        if (strspn(argv[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            "_-./=,:+@%") == strlen(argv[i]))
            fprintf(stderr, " %s", argv[i]);
        else {
            fprintf(stderr, " '");
            for (const char *c = argv[i]; *c; c++)
                fprintf(stderr, *c == '\'' ? "'\\''" : "%c", *c);
            fprintf(stderr, "'");
        }
    }
    fprintf(stderr, " --resume %s\n", checkpoint);
}

/* Fails early, before hours of training, when the model's directory cannot take a file. */
static int check_writable(const char *path, RbmError *error)
{
    struct stat info;
    if (stat(path, &info) == 0 && (info.st_mode & 0222) == 0) { /* root ignores modes: ask */
        snprintf(error->message, sizeof error->message,
                 "%s: the file is read-only; rbm will not replace it", path);
        return -EIO;
    }
    char probe[RBM_PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s.probe.%ld", path, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(error->message, sizeof error->message, "%s: cannot write there: %s", path,
                 strerror(errno));
        return -EIO;
    }
    close(fd);
    unlink(probe);
    return 0;
}

int cli_train(int argc, char **argv)
{
    RbmError error = {{0}};
    const char *config_path = NULL;
    const char **overrides = calloc((size_t)argc, sizeof *overrides);
    int override_count = 0, profiling = 0, quiet = 0;
    const char *resume = NULL;
    if (!overrides)
        return EXIT_FAILURE_OTHER;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_train_usage(stdout);
            free(overrides);
            return EXIT_OK;
        } else if (strcmp(arg, "-s") == 0 || strcmp(arg, "--set") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "rbm train: %s needs SECTION.KEY=VALUE\n", arg);
                free(overrides);
                return EXIT_BAD_INPUT;
            }
            overrides[override_count++] = argv[++i];
        } else if (strcmp(arg, "--profile") == 0) {
            profiling = 1;
        } else if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
            quiet = 1;
        } else if (strcmp(arg, "--resume") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "rbm train: --resume needs a CHECKPOINT\n");
                free(overrides);
                return EXIT_BAD_INPUT;
            }
            resume = argv[++i];
        } else if (strncmp(arg, "--set=", 6) == 0) {
            overrides[override_count++] = arg + 6;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "rbm train: unknown option '%s' (see rbm train --help)\n", arg);
            free(overrides);
            return EXIT_BAD_INPUT;
        } else if (!config_path) {
            config_path = arg;
        } else {
            fprintf(stderr, "rbm train: more than one CONFIG ('%s' and '%s')\n", config_path, arg);
            free(overrides);
            return EXIT_BAD_INPUT;
        }
    }
    if (!config_path) {
        fprintf(stderr, "rbm train: missing CONFIG\n\n");
        cli_train_usage(stderr);
        free(overrides);
        return EXIT_BAD_INPUT;
    }

    RbmSettings settings;
    int result = cli_load_settings(&settings, config_path, overrides, override_count, &error);
    free(overrides);
    if (result == 0)
        result = rbm_check_blas(&error);
    if (result != 0)
        return cli_report(result, &error);

    /* From here on SIGINT and SIGTERM stop the run cleanly, data loading included. */
    install_signal_handlers();
    RbmDataset *data = NULL, *validation = NULL;
    CliTimes io = {0};
    double start = cli_now();
    result = rbm_dataset_load(&data, settings.train_path, settings.format, settings.scale,
                              settings.limit, &error);
    if (result == 0 && settings.validation_path[0])
        result = rbm_dataset_load(&validation, settings.validation_path, settings.format,
                                  settings.scale, 0, &error);
    if (result != 0) {
        rbm_dataset_free(data);
        return cli_report(result, &error);
    }
    io.load_seconds = cli_now() - start;
    if (stop_signal) { /* before any training: there is nothing to save */
        fprintf(stderr, "rbm: %s before training started; nothing was written\n",
                strsignal(stop_signal));
        rbm_dataset_free(data);
        rbm_dataset_free(validation);
        return 128 + stop_signal;
    }
    char checkpoint[RBM_PATH_MAX + 8];
    rbm_checkpoint_path(&settings, checkpoint);
    if ((result = check_writable(settings.model_path, &error)) != 0 ||
        (result = check_writable(checkpoint, &error)) != 0) {
        rbm_dataset_free(data);
        rbm_dataset_free(validation);
        return cli_report(result, &error);
    }
    Progress progress = {.log_path = settings.log_path, .quiet = quiet,
                         .terminal = isatty(STDERR_FILENO)};
    if (settings.log_path[0]) {
        progress.log = fopen(settings.log_path, resume ? "a" : "w"); /* resume: keep the past */
        if (!progress.log) {
            fprintf(stderr, "rbm: %s: cannot open the log: %s\n", settings.log_path,
                    strerror(errno));
            rbm_dataset_free(data);
            rbm_dataset_free(validation);
            return EXIT_FAILURE_OTHER;
        }
    }
    if (!quiet) {
        const int64_t rows = rbm_dataset_rows(data);
        const int64_t held = (int64_t)((double)rows * settings.validation_fraction);
        char shape[64] = "", epochs[64];
        if (settings.layers.count)
            snprintf(shape, sizeof shape, " (a stack of %lld RBMs)",
                     (long long)settings.layers.count - 1);
        if (settings.layer_epochs.count)
            snprintf(epochs, sizeof epochs, "%lld epochs of the first RBM",
                     (long long)settings.layer_epochs.values[0]);
        else
            snprintf(epochs, sizeof epochs, "%lld epochs", (long long)settings.epochs);
        int threads = rbm_training_threads(&settings, rows - held, rbm_dataset_columns(data));
        fprintf(stderr, "rbm: %lld samples x %lld visible -> %lld hidden%s, %s, %s%d thread%s",
                (long long)(rows - held), (long long)rbm_dataset_columns(data),
                (long long)(settings.layers.count ? settings.layers.values[settings.layers.count - 1]
                                                  : settings.hidden),
                shape, epochs, settings.layers.count && !settings.threads ? "up to " : "",
                threads, threads == 1 ? "" : "s");
        if (held || validation)
            fprintf(stderr, "; %lld validation rows",
                    (long long)(held ? held : rbm_dataset_rows(validation)));
        fprintf(stderr, "\n");
    }
    RbmModel *model = NULL;
    RbmProfile profile = {0};
    RbmTrainHooks hooks = {on_epoch, &progress, profiling ? &profile : NULL, resume,
                           &stop_signal, on_batch, validation};
    result = rbm_train(&model, &settings, data, &hooks, &error);
    if (progress.bar_shown)
        fprintf(stderr, "\r\033[K");
    int stopped = result == -EINTR;
    if (stopped) {
        fprintf(stderr, "rbm: %s (%s)\n", error.message, strsignal(stop_signal ? stop_signal : SIGINT));
        result = 0;
    }
    rbm_dataset_free(data);
    rbm_dataset_free(validation);
    if (progress.log && fclose(progress.log) != 0 && !progress.log_failed)
        progress.log_failed = errno;
    start = cli_now();
    if (result == 0)
        result = rbm_model_save(model, settings.model_path, &error);
    io.save_seconds = cli_now() - start;
    rbm_model_free(model);
    if (result == 0 && profiling)
        cli_print_profile(stderr, &profile, &io);
    rbm_profile_free(&profile);
    if (result != 0)
        return cli_report(result, &error);
    if (!quiet || stopped)
        fprintf(stderr, "rbm: wrote %s%s\n", settings.model_path,
                stopped ? " (the model so far)" : "");
    if (stopped) {
        print_resume_command(argc, argv, checkpoint);
        return 128 + (stop_signal ? stop_signal : SIGINT);
    }
    return progress.log_failed ? EXIT_FAILURE_OTHER : EXIT_OK;
}
