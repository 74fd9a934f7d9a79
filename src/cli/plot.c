/* rbm plot LOG.jsonl -o CURVES.svg|.png: the training curves of a JSON-lines log. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "picture.h"

enum { SERIES = 3, WIDTH = 720, HEIGHT = 420, LEFT = 70, RIGHT = 20, TOP = 30, BOTTOM = 50 };
static const char *const series_keys[SERIES] = {"recon_error", "validation_recon_error",
                                                "free_energy_gap"};
static const char *const series_colours[SERIES] = {"#1f77b4", "#d62728", "#2ca02c"};

typedef struct Curves {
    int64_t count, capacity;
    double *values[SERIES]; /* [count], NaN where a record has no such value */
    int64_t *layer;         /* [count]: the RBM of a stack the record is for (1 if none) */
} Curves;

/* The number after "key": in a flat JSON record; NaN for null or absent. */
static double field(const char *line, const char *key, int *present)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *at = strstr(line, pattern);
    *present = at != NULL;
    if (!at || strncmp(at + strlen(pattern), "null", 4) == 0)
        return NAN;
    char *end = NULL;
    double value = strtod(at + strlen(pattern), &end);
    if (end == at + strlen(pattern))
        *present = -1;
    return value;
}

static int read_log(Curves *curves, const char *path, RbmError *error)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        snprintf(error->message, sizeof error->message, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? -ENOENT : -EIO;
    }
    char line[4096];
    int64_t number = 0;
    int result = 0;
    while (result == 0 && fgets(line, sizeof line, file)) {
        number++;
        if (line[0] == '\n')
            continue;
        int present = 0;
        double first = field(line, "recon_error", &present);
        if (line[0] != '{' || present != 1 || !strchr(line, '}')) {
            snprintf(error->message, sizeof error->message,
                     "%s:%lld: not a record of rbm's log (a JSON object with recon_error)", path,
                     (long long)number);
            result = -EINVAL;
            break;
        }
        if (curves->count == curves->capacity) {
            curves->capacity = curves->capacity ? 2 * curves->capacity : 64;
            int64_t *layers = realloc(curves->layer, (size_t)curves->capacity * sizeof(int64_t));
            if (!layers) {
                snprintf(error->message, sizeof error->message, "out of memory");
                fclose(file);
                return -ENOMEM;
            }
            curves->layer = layers;
            for (int s = 0; s < SERIES; s++) {
                double *grown = realloc(curves->values[s], (size_t)curves->capacity * sizeof(double));
                if (!grown) {
                    snprintf(error->message, sizeof error->message, "out of memory");
                    fclose(file);
                    return -ENOMEM;
                }
                curves->values[s] = grown;
            }
        }
        curves->values[0][curves->count] = first;
        double layer = field(line, "layer", &present);
        curves->layer[curves->count] = present == 1 && isfinite(layer) ? (int64_t)layer : 1;
        for (int s = 1; s < SERIES; s++)
            curves->values[s][curves->count] = field(line, series_keys[s], &present);
        curves->count++;
    }
    fclose(file);
    if (result == 0 && curves->count == 0) {
        snprintf(error->message, sizeof error->message, "%s: no records", path);
        result = -EINVAL;
    }
    return result;
}

/* The y range of the error series (the gap has its own scale, drawn against the right). */
static void range(const Curves *curves, int first, int last, double *low, double *high)
{
    *low = INFINITY, *high = -INFINITY;
    for (int s = first; s <= last; s++)
        for (int64_t i = 0; i < curves->count; i++)
            if (isfinite(curves->values[s][i]))
                *low = fmin(*low, curves->values[s][i]), *high = fmax(*high, curves->values[s][i]);
    if (!isfinite(*low))
        *low = 0, *high = 1;
    if (*high - *low < 1e-12)
        *high = *low + 1e-12 + fabs(*low) * 0.01;
}

static double x_at(const Curves *c, int64_t i)
{
    return LEFT + (c->count > 1 ? (double)i / (double)(c->count - 1) : 0.5) * (WIDTH - LEFT - RIGHT);
}
static double y_at(double value, double low, double high)
{
    return TOP + (1.0 - (value - low) / (high - low)) * (HEIGHT - TOP - BOTTOM);
}

typedef struct SvgJob {
    const Curves *curves;
    const char *title;
} SvgJob;

static int write_svg(const char *temp_path, void *user, RbmError *error)
{
    const SvgJob *job = user;
    const Curves *c = job->curves;
    FILE *out = fopen(temp_path, "w");
    if (!out) {
        snprintf(error->message, sizeof error->message, "%s: %s", temp_path, strerror(errno));
        return -EIO;
    }
    double low, high;
    range(c, 0, 1, &low, &high);
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                 "font-family=\"sans-serif\" font-size=\"12\">\n"
                 "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                 "<text x=\"%d\" y=\"18\">training curves: %s</text>\n",
            WIDTH, HEIGHT, LEFT, job->title);
    fprintf(out, "<path d=\"M%d %d V%d H%d\" stroke=\"black\" fill=\"none\"/>\n", LEFT, TOP,
            HEIGHT - BOTTOM, WIDTH - RIGHT);
    for (int t = 0; t <= 4; t++) {
        double value = low + (high - low) * t / 4.0;
        fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", LEFT - 6,
                y_at(value, low, high) + 4, value);
    }
    fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">epoch (1 to %lld%s)</text>\n",
            (LEFT + WIDTH - RIGHT) / 2, HEIGHT - 15, (long long)c->count,
            c->layer[c->count - 1] > 1 ? "; a stack: one RBM after the other, split by grey lines" : "");
    for (int64_t i = 1; i < c->count; i++)
        if (c->layer[i] != c->layer[i - 1])
            fprintf(out, "<path d=\"M%.1f %d V%d\" stroke=\"#999\"/>\n",
                    (x_at(c, i - 1) + x_at(c, i)) / 2, TOP, HEIGHT - BOTTOM);
    for (int s = 0; s < SERIES; s++) {
        double slow = low, shigh = high;
        if (s == 2)
            range(c, 2, 2, &slow, &shigh);
        int started = 0, any = 0;
        for (int64_t i = 0; i < c->count; i++) {
            if (!isfinite(c->values[s][i])) {
                started = 0;
                continue;
            }
            if (i > 0 && c->layer[i] != c->layer[i - 1])
                started = 0; /* each RBM of a stack has curves of its own */
            if (!any)
                fprintf(out, "<path stroke=\"%s\" stroke-width=\"2\" fill=\"none\"%s d=\"",
                        series_colours[s], s == 2 ? " stroke-dasharray=\"5,3\"" : "");
            fprintf(out, "%s%.1f %.1f ", started ? "L" : "M", x_at(c, i),
                    y_at(c->values[s][i], slow, shigh));
            started = any = 1;
        }
        if (any)
            fprintf(out, "\"/>\n<text x=\"%d\" y=\"%d\" fill=\"%s\">%s%s</text>\n",
                    WIDTH - RIGHT - 260, TOP + 16 * (s + 1), series_colours[s], series_keys[s],
                    s == 2 ? " (own scale, dashed)" : "");
    }
    fprintf(out, "</svg>\n");
    int failed = ferror(out) || fflush(out) != 0;
    if (fclose(out) != 0 || failed) {
        snprintf(error->message, sizeof error->message, "%s: cannot write", temp_path);
        return -EIO;
    }
    return 0;
}

/* The PNG version: the same axes and lines, drawn without text (an SVG has the labels). */
static int write_png_plot(const char *path, const Curves *c, RbmError *error)
{
    uint8_t *pixels = malloc((size_t)WIDTH * HEIGHT);
    if (!pixels) {
        snprintf(error->message, sizeof error->message, "out of memory");
        return -ENOMEM;
    }
    memset(pixels, 255, (size_t)WIDTH * HEIGHT);
    for (int y = TOP; y <= HEIGHT - BOTTOM; y++)
        pixels[y * WIDTH + LEFT] = 0;
    for (int x = LEFT; x <= WIDTH - RIGHT; x++)
        pixels[(HEIGHT - BOTTOM) * WIDTH + x] = 0;
    double low, high;
    range(c, 0, 1, &low, &high);
    const uint8_t shades[SERIES] = {0, 90, 160};
    for (int s = 0; s < SERIES; s++) {
        double slow = low, shigh = high;
        if (s == 2)
            range(c, 2, 2, &slow, &shigh);
        for (int64_t i = 1; i < c->count; i++) {
            double a = c->values[s][i - 1], b = c->values[s][i];
            if (!isfinite(a) || !isfinite(b) || c->layer[i] != c->layer[i - 1])
                continue;
            double x0 = x_at(c, i - 1), x1 = x_at(c, i);
            double y0 = y_at(a, slow, shigh), y1 = y_at(b, slow, shigh);
            int steps = (int)fmax(fabs(x1 - x0), fabs(y1 - y0)) + 1;
            for (int t = 0; t <= steps; t++) {
                int x = (int)lround(x0 + (x1 - x0) * t / steps);
                int y = (int)lround(y0 + (y1 - y0) * t / steps);
                for (int d = 0; d < 2; d++)
                    if (x >= 0 && x < WIDTH && y + d >= 0 && y + d < HEIGHT)
                        pixels[(y + d) * WIDTH + x] = shades[s];
            }
        }
    }
    int result = picture_save_png(path, pixels, WIDTH, HEIGHT, error);
    free(pixels);
    return result;
}

int cli_plot(int argc, char **argv)
{
    const char *log = NULL, *output = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: rbm plot LOG.jsonl -o CURVES.svg|CURVES.png\n"
                   "Draws recon_error, validation_recon_error and free_energy_gap (own scale)\n"
                   "per epoch from the JSON log of rbm train ([output] log). The SVG has labels;\n"
                   "the PNG has the same lines and axes without text.\n");
            return EXIT_OK;
        } else if (strcmp(argv[i], "-o") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "rbm plot: -o needs a file name (CURVES.svg or CURVES.png)\n");
                return EXIT_BAD_INPUT;
            }
            output = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "rbm plot: unknown option '%s'\n", argv[i]);
            return EXIT_BAD_INPUT;
        } else if (!log) {
            log = argv[i];
        } else {
            fprintf(stderr, "rbm plot: unexpected argument '%s'\n", argv[i]);
            return EXIT_BAD_INPUT;
        }
    }
    size_t n = output ? strlen(output) : 0;
    int svg = n > 4 && strcmp(output + n - 4, ".svg") == 0;
    int png = n > 4 && strcmp(output + n - 4, ".png") == 0;
    if (!log || !output || (!svg && !png)) {
        fprintf(stderr, "rbm plot: usage: rbm plot LOG.jsonl -o CURVES.svg|CURVES.png\n");
        return EXIT_BAD_INPUT;
    }
    Curves curves = {0};
    RbmError error = {{0}};
    int result = read_log(&curves, log, &error);
    if (result == 0 && svg) {
        SvgJob job = {&curves, log};
        result = rbm_write_atomically(output, write_svg, &job, &error);
    } else if (result == 0) {
        result = write_png_plot(output, &curves, &error);
    }
    for (int s = 0; s < SERIES; s++)
        free(curves.values[s]);
    free(curves.layer);
    if (result != 0)
        return cli_report(result, &error);
    fprintf(stderr, "rbm: wrote %s (%lld epochs)\n", output, (long long)curves.count);
    return EXIT_OK;
}
