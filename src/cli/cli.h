/* The rbm command: one file per command. Only the CLI prints and chooses exit statuses. */
#ifndef RBM_CLI_H
#define RBM_CLI_H

#include <stdio.h>

#include "rbm/rbm.h"

enum { EXIT_OK = 0, EXIT_FAILURE_OTHER = 1, EXIT_BAD_INPUT = 2 };

/* Exit status for a library result: bad input (-EINVAL, -ENOENT) is 2, anything else 1. */
int cli_exit_status(int result);
/* Prints "rbm: message" to stderr and returns the exit status for `result`. */
int cli_report(int result, const RbmError *error);

/* Defaults, then the config file, then the overrides ("SECTION.KEY=VALUE") in order, then the
 * checks of the whole: 0 or a negative errno with the reason in `error`. A check's reason is
 * prefixed with the config's path, since the file (or an override) is where to fix it. */
int cli_load_settings(RbmSettings *settings, const char *config_path,
                      const char *const *overrides, int override_count, RbmError *error);

typedef struct CliTimes {
    double load_seconds, save_seconds;
} CliTimes;
void cli_print_profile(FILE *out, const RbmProfile *profile, const CliTimes *io);
double cli_now(void);

int cli_train(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_bench(int argc, char **argv);
void cli_bench_usage(FILE *out);
void cli_train_usage(FILE *out);
void cli_info_usage(FILE *out);
/* transform, reconstruct, sample, filters, eval */
int cli_use(const char *command, int argc, char **argv);
void cli_use_usage(FILE *out);
int cli_plot(int argc, char **argv);

#endif
