/* rbm train CONFIG [-s SECTION.KEY=VALUE]... */
#include <errno.h>
#include <fcntl.h>
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
            "                        [--profile]\n"
            "\n"
            "Trains an RBM by CD-1 with momentum on the data CONFIG names, and writes the model.\n"
            "Overrides apply after the file, in order. Exit status: 0 done, 2 bad arguments,\n"
            "config or data, 1 anything else, 130/143 stopped by SIGINT/SIGTERM.\n"
            "--resume continues a run from its checkpoint; the result is the same, byte for\n"
            "byte, as a run that was never stopped. --profile prints where the time went.\n"
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
} Progress;

static int on_epoch(const RbmEpochReport *report, void *user)
{
    Progress *progress = user;
    fprintf(stderr, "epoch %lld/%lld  recon_error %.6f  %.3f s  %.0f samples/s\n",
            (long long)report->epoch, (long long)report->epochs, report->recon_error,
            report->seconds, report->samples_per_second);
    if (progress->log) {
        fprintf(progress->log,
                "{\"epoch\": %lld, \"recon_error\": %.9g, \"seconds\": %.6f, "
                "\"samples_per_second\": %.3f}\n",
                (long long)report->epoch, report->recon_error, report->seconds,
                report->samples_per_second);
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
    int override_count = 0, profiling = 0;
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
    rbm_default_settings(&settings);
    int result = rbm_settings_load_file(&settings, config_path, &error);
    for (int i = 0; result == 0 && i < override_count; i++)
        result = rbm_settings_override(&settings, overrides[i], &error);
    free(overrides);
    if (result == 0)
        result = rbm_settings_check(&settings, &error);
    if (result == 0)
        result = rbm_check_blas(&error);
    if (result != 0)
        return cli_report(result, &error);

    RbmDataset *data = NULL;
    CliTimes io = {0};
    double start = cli_now();
    result = rbm_dataset_load(&data, settings.train_path, settings.format, settings.scale,
                              settings.limit, &error);
    if (result != 0)
        return cli_report(result, &error);
    io.load_seconds = cli_now() - start;
    char checkpoint[RBM_PATH_MAX + 8];
    rbm_checkpoint_path(&settings, checkpoint);
    if ((result = check_writable(settings.model_path, &error)) != 0 ||
        (result = check_writable(checkpoint, &error)) != 0) {
        rbm_dataset_free(data);
        return cli_report(result, &error);
    }
    Progress progress = {.log_path = settings.log_path};
    if (settings.log_path[0]) {
        progress.log = fopen(settings.log_path, resume ? "a" : "w"); /* resume: keep the past */
        if (!progress.log) {
            fprintf(stderr, "rbm: %s: cannot open the log: %s\n", settings.log_path,
                    strerror(errno));
            rbm_dataset_free(data);
            return EXIT_FAILURE_OTHER;
        }
    }
    fprintf(stderr, "rbm: %lld samples x %lld visible -> %lld hidden, %lld epochs, %lld threads\n",
            (long long)rbm_dataset_rows(data), (long long)rbm_dataset_columns(data),
            (long long)settings.hidden, (long long)settings.epochs,
            (long long)(settings.threads ? settings.threads : rbm_default_threads()));
    RbmModel *model = NULL;
    RbmProfile profile = {0};
    RbmTrainHooks hooks = {on_epoch, &progress, profiling ? &profile : NULL, resume,
                           &stop_signal};
    install_signal_handlers();
    result = rbm_train(&model, &settings, data, &hooks, &error);
    int stopped = result == -EINTR;
    if (stopped) {
        fprintf(stderr, "rbm: %s (%s)\n", error.message, strsignal(stop_signal ? stop_signal : SIGINT));
        result = 0;
    }
    rbm_dataset_free(data);
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
    fprintf(stderr, "rbm: wrote %s%s\n", settings.model_path, stopped ? " (the model so far)" : "");
    if (stopped) {
        print_resume_command(argc, argv, checkpoint);
        return 128 + (stop_signal ? stop_signal : SIGINT);
    }
    return progress.log_failed ? EXIT_FAILURE_OTHER : EXIT_OK;
}
