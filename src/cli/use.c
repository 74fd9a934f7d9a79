/* Using a trained model: rbm transform, reconstruct, sample, filters, eval. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "picture.h"

void cli_use_usage(FILE *out)
{
    RbmAisSettings ais;
    rbm_default_ais_settings(&ais);
    fprintf(out,
            "usage: rbm transform MODEL DATA -o FEATURES.npy   hidden probabilities, through "
            "every layer\n"
            "       rbm reconstruct MODEL DATA -o OUT.npy|OUT.png   mean-field reconstructions\n"
            "       rbm sample MODEL -n N --gibbs-steps K --seed S -o OUT.png|OUT.npy\n"
            "       rbm filters MODEL -o FILTERS.png [--tile WxH]   the first RBM's weights\n"
            "       rbm eval MODEL DATA [--json] [--ais-runs R] [--ais-temperatures T]\n"
            "options: --format auto|csv|idx|npy and --scale auto|NUMBER read DATA (as [data]);\n"
            "  --limit N reads its first N rows; --threads N (default all cores; never changes\n"
            "  the result); --tile WxH the picture tile shape (default: square, e.g. 28x28).\n"
            "  sample: -n 64 chains, --gibbs-steps 1000, --seed 1 (the defaults).\n"
            "  eval: log Z is exact for models with at most 20 hidden or 20 visible units, else\n"
            "  estimated by AIS: --ais-runs %lld, --ais-temperatures %lld, --seed %llu.\n",
            (long long)ais.runs, (long long)ais.temperatures, (unsigned long long)ais.seed);
}

typedef struct UseArguments {
    const char *model, *data, *output, *tile;
    RbmDataFormat format;
    double scale;
    int64_t limit, count, steps, ais_runs, ais_temperatures;
    uint64_t seed;
    int threads, json;
} UseArguments;

static int parse_number(const char *command, const char *option, const char *text, double low,
                        double high, double *out)
{
    char *end = NULL;
    double value = strtod(text, &end);
    if (!*text || *end || !(value >= low && value <= high) || value != floor(value)) {
        fprintf(stderr, "rbm %s: %s '%s': expected a whole number from %.0f to %.0f\n", command,
                option, text, low, high);
        return -1;
    }
    *out = value;
    return 0;
}

/* The options each command takes (an option another command takes is an error here, not
 * silently ignored). */
static int option_applies(const char *command, const char *option)
{
    static const struct {
        const char *command, *options;
    } table[] = {
        {"transform", " -o --output --format --scale --limit --threads "},
        {"reconstruct", " -o --output --format --scale --limit --threads --tile "},
        {"sample", " -o --output -n --gibbs-steps --seed --threads --tile "},
        {"filters", " -o --output --tile "},
        {"eval", " --format --scale --limit --threads --json --ais-runs --ais-temperatures --seed "},
    };
    char padded[64];
    snprintf(padded, sizeof padded, " %s ", option);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].command, command) == 0)
            return strstr(table[i].options, padded) != NULL;
    return 0;
}

/* Parses `rbm COMMAND POSITIONAL... [options]`; positionals names the expected ones. */
static int parse(const char *command, int argc, char **argv, int positionals, UseArguments *a)
{
    *a = (UseArguments){.format = RBM_FORMAT_AUTO, .count = 64, .steps = 1000, .seed = 1,
                        .ais_runs = 100, .ais_temperatures = 14500};
    const char *given[2] = {NULL, NULL};
    int seen = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        double number = 0;
        int takes_value = strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0 ||
                          strcmp(arg, "--format") == 0 || strcmp(arg, "--scale") == 0 ||
                          strcmp(arg, "--limit") == 0 || strcmp(arg, "--threads") == 0 ||
                          strcmp(arg, "-n") == 0 || strcmp(arg, "--gibbs-steps") == 0 ||
                          strcmp(arg, "--seed") == 0 || strcmp(arg, "--tile") == 0 ||
                          strcmp(arg, "--ais-runs") == 0 || strcmp(arg, "--ais-temperatures") == 0;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_use_usage(stdout);
            return 1;
        }
        if ((takes_value || strcmp(arg, "--json") == 0) && !option_applies(command, arg)) {
            fprintf(stderr, "rbm %s: %s is not an option of rbm %s (see rbm %s --help)\n",
                    command, arg, command, command);
            return -1;
        }
        if (takes_value && !value) {
            fprintf(stderr, "rbm %s: %s needs a value\n", command, arg);
            return -1;
        }
        if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) {
            a->output = value;
        } else if (strcmp(arg, "--tile") == 0) {
            a->tile = value;
        } else if (strcmp(arg, "--format") == 0) {
            const char *names[] = {"auto", "csv", "idx", "npy"};
            int found = -1;
            for (int f = 0; f < 4; f++)
                if (strcmp(value, names[f]) == 0)
                    found = f;
            if (found < 0) {
                fprintf(stderr, "rbm %s: --format '%s': expected auto, csv, idx or npy\n",
                        command, value);
                return -1;
            }
            a->format = (RbmDataFormat)found;
        } else if (strcmp(arg, "--scale") == 0) {
            char *end = NULL;
            a->scale = strcmp(value, "auto") == 0 ? 0 : strtod(value, &end);
            if (strcmp(value, "auto") != 0 && (!*value || *end || !(a->scale > 0) || !isfinite(a->scale))) {
                fprintf(stderr, "rbm %s: --scale '%s': expected auto or a positive number\n",
                        command, value);
                return -1;
            }
        } else if (strcmp(arg, "--seed") == 0) {
            char *end = NULL;
            errno = 0;
            a->seed = strtoull(value, &end, 10);
            if (!*value || *end || errno == ERANGE || strspn(value, "0123456789") != strlen(value)) {
                fprintf(stderr, "rbm %s: --seed '%s': expected a whole number from 0 to "
                                "18446744073709551615\n",
                        command, value);
                return -1;
            }
        } else if (takes_value) {
            /* limits that keep every size computed from them far from overflow */
            double high = strcmp(arg, "--threads") == 0       ? 4096
                          : strcmp(arg, "-n") == 0            ? 1e6
                          : strcmp(arg, "--gibbs-steps") == 0 ? 1e9
                          : strcmp(arg, "--ais-runs") == 0    ? 1e6
                          : strcmp(arg, "--ais-temperatures") == 0 ? 1e8
                                                              : 9e15;
            double low = strcmp(arg, "--gibbs-steps") == 0 || strcmp(arg, "--threads") == 0 ||
                                 strcmp(arg, "--limit") == 0
                             ? 0
                             : strcmp(arg, "--ais-runs") == 0 ? 2
                             : strcmp(arg, "--ais-temperatures") == 0 ? 3
                                                                      : 1;
            if (parse_number(command, arg, value, low, high, &number) < 0)
                return -1;
            if (strcmp(arg, "--limit") == 0) a->limit = (int64_t)number;
            if (strcmp(arg, "--threads") == 0) a->threads = (int)number;
            if (strcmp(arg, "-n") == 0) a->count = (int64_t)number;
            if (strcmp(arg, "--gibbs-steps") == 0) a->steps = (int64_t)number;
            if (strcmp(arg, "--ais-runs") == 0) a->ais_runs = (int64_t)number;
            if (strcmp(arg, "--ais-temperatures") == 0) a->ais_temperatures = (int64_t)number;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = 1;
            continue;
        } else if (arg[0] == '-' && arg[1]) {
            fprintf(stderr, "rbm %s: unknown option '%s' (see rbm %s --help)\n", command, arg,
                    command);
            return -1;
        } else if (seen < positionals) {
            given[seen++] = arg;
            continue;
        } else {
            fprintf(stderr, "rbm %s: unexpected argument '%s'\n", command, arg);
            return -1;
        }
        i++; /* the option's value */
    }
    if (seen < positionals) {
        fprintf(stderr, "rbm %s: missing %s (see rbm %s --help)\n", command,
                seen == 0 ? "MODEL" : "DATA", command);
        return -1;
    }
    a->model = given[0];
    a->data = given[1];
    return 0;
}

static int ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

/* Writes rows[count][width] to .npy, or to .png as a grid of tiles. */
static int write_rows(const UseArguments *a, const char *command, const float *rows, int64_t count,
                      int64_t width, RbmError *error)
{
    if (ends_with(a->output, ".npy"))
        return rbm_save_npy(a->output, rows, count, width, error);
    if (ends_with(a->output, ".png")) {
        int64_t tile_width = 0, tile_height = 0;
        int result = picture_tile_shape(a->tile, width, &tile_width, &tile_height, error);
        if (result == 0)
            result = picture_save_grid(a->output, rows, count, width, tile_width, tile_height, 0,
                                       error);
        return result;
    }
    snprintf(error->message, sizeof error->message, "%s: -o %s: the output must end in .npy or .png",
             command, a->output);
    return -EINVAL;
}

/* Checks the output's kind and, for a picture, the tile shape and size, before any work:
 * `count` rows of `width` values go out. */
static int check_output(const UseArguments *a, const char *command, int64_t count, int64_t width,
                        RbmError *error)
{
    const int npy = ends_with(a->output, ".npy"), png = ends_with(a->output, ".png");
    const int npy_only = strcmp(command, "transform") == 0;
    const int png_only = strcmp(command, "filters") == 0;
    if ((npy_only && !npy) || (png_only && !png) || (!npy && !png)) {
        snprintf(error->message, sizeof error->message, "%s: -o %s: the output must end in %s",
                 command, a->output, npy_only ? ".npy" : png_only ? ".png" : ".npy or .png");
        return -EINVAL;
    }
    if (!png)
        return 0;
    int64_t tile_width = 0, tile_height = 0;
    int result = picture_tile_shape(a->tile, width, &tile_width, &tile_height, error);
    return result < 0 ? result : picture_grid_fits(a->output, count, tile_width, tile_height, error);
}

int cli_use(const char *command, int argc, char **argv)
{
    const int needs_data = strcmp(command, "sample") != 0 && strcmp(command, "filters") != 0;
    UseArguments a;
    int parsed = parse(command, argc, argv, needs_data ? 2 : 1, &a);
    if (parsed != 0)
        return parsed > 0 ? EXIT_OK : EXIT_BAD_INPUT;
    if (!a.output && strcmp(command, "eval") != 0) {
        fprintf(stderr, "rbm %s: -o OUTPUT is required\n", command);
        return EXIT_BAD_INPUT;
    }
    RbmError error = {{0}};
    RbmModel *model = NULL;
    RbmDataset *data = NULL;
    int result = rbm_model_load(&model, a.model, &error);
    if (result == 0 && needs_data)
        result = rbm_dataset_load(&data, a.data, a.format, a.scale, a.limit, &error);
    if (result == 0 && needs_data && rbm_dataset_columns(data) != model->visible)
        result = (snprintf(error.message, sizeof error.message,
                           "%s: %lld columns, but %s has %lld visible units", a.data,
                           (long long)rbm_dataset_columns(data), a.model,
                           (long long)model->visible),
                  -EINVAL);
    if (result == 0 && a.output) { /* the output is checked before the work */
        const RbmModel *top = model;
        while (top->next)
            top = top->next;
        int64_t count = strcmp(command, "sample") == 0    ? a.count
                        : strcmp(command, "filters") == 0 ? model->hidden
                                                          : rbm_dataset_rows(data);
        int64_t width = strcmp(command, "transform") == 0 ? top->hidden : model->visible;
        result = check_output(&a, command, count, width, &error);
    }
    float *rows = NULL;
    if (result == 0 && strcmp(command, "transform") == 0) {
        result = rbm_model_transform(model, data, a.threads, &rows, &error);
        const RbmModel *top = model;
        while (top->next)
            top = top->next;
        if (result == 0)
            result = ends_with(a.output, ".npy")
                         ? rbm_save_npy(a.output, rows, rbm_dataset_rows(data), top->hidden, &error)
                         : (snprintf(error.message, sizeof error.message,
                                     "transform: -o %s: features go to a .npy file", a.output),
                            -EINVAL);
    } else if (result == 0 && strcmp(command, "reconstruct") == 0) {
        result = rbm_model_reconstruct(model, data, a.threads, &rows, &error);
        if (result == 0)
            result = write_rows(&a, command, rows, rbm_dataset_rows(data), model->visible, &error);
    } else if (result == 0 && strcmp(command, "sample") == 0) {
        result = rbm_model_sample(model, a.count, a.steps, a.seed, a.threads, &rows, &error);
        if (result == 0)
            result = write_rows(&a, command, rows, a.count, model->visible, &error);
    } else if (result == 0 && strcmp(command, "filters") == 0) {
        int64_t tile_width = 0, tile_height = 0;
        result = ends_with(a.output, ".png")
                     ? picture_tile_shape(a.tile, model->visible, &tile_width, &tile_height, &error)
                     : (snprintf(error.message, sizeof error.message,
                                 "filters: -o %s: filters go to a .png file", a.output),
                        -EINVAL);
        if (result == 0)
            result = picture_save_grid(a.output, model->weights, model->hidden, model->visible,
                                       tile_width, tile_height, 1, &error);
    } else if (result == 0) { /* eval */
        RbmAisSettings ais = {a.ais_runs, a.ais_temperatures, a.seed, a.threads};
        RbmEvaluation e;
        result = rbm_model_evaluate(model, data, &ais, &e, &error);
        if (result == 0 && a.json)
            printf("{\"recon_error\": %.9g, \"free_energy\": %.9g, \"pseudo_likelihood\": %.9g, "
                   "\"log_z\": %.9g, \"log_z_method\": \"%s\", \"log_z_stderr\": %.9g, "
                   "\"avg_log_prob\": %.9g, \"binarized\": %s, \"rows\": %lld, \"layers\": %lld}\n",
                   e.recon_error, e.free_energy, e.pseudo_likelihood, e.log_z,
                   e.log_z_exact ? "exact" : "ais", e.log_z_stderr, e.avg_log_prob,
                   e.binarized ? "true" : "false", (long long)rbm_dataset_rows(data),
                   (long long)rbm_model_layers(model));
        else if (result == 0)
            printf("rows               %lld%s\n"
                   "recon_error        %.6f\n"
                   "free_energy        %.4f\n"
                   "pseudo_likelihood  %.4f\n"
                   "log_z              %.4f (%s%s)\n"
                   "avg_log_prob       %.4f\n",
                   (long long)rbm_dataset_rows(data),
                   e.binarized ? " (thresholded at 0.5 for the probabilities)" : "",
                   e.recon_error, e.free_energy, e.pseudo_likelihood, e.log_z,
                   e.log_z_exact ? "exact" : "AIS, standard error ",
                   e.log_z_exact ? "" : (snprintf(error.message, 32, "%.4f", e.log_z_stderr), error.message),
                   e.avg_log_prob);
        if (result == 0 && rbm_model_layers(model) > 1)
            fprintf(stderr, "rbm eval: a stack: these figures are for its first RBM\n");
    }
    free(rows);
    rbm_dataset_free(data);
    rbm_model_free(model);
    if (result != 0)
        return cli_report(result, &error);
    if (a.output)
        fprintf(stderr, "rbm: wrote %s\n", a.output);
    return EXIT_OK;
}
