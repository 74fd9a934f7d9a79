/* rbm bench: the trainer against the sgemm floor (and its own products' floor) at every thread
 * count, the write-up's time-against-data-size check, linearity in epochs, and the profiler's
 * own cost; medians of repeated runs, a CSV of every figure and an SVG plot of seconds against
 * samples. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "round_trip.h"

#define MAX_LIST 64

typedef enum { RUN_TRAINER, RUN_FLOOR, RUN_OWN_FLOOR } RunKind;

typedef struct BenchOptions {
    int repeats, epochs;
    int threads[MAX_LIST], thread_count;
    int64_t sizes[MAX_LIST];
    int size_count;
    const char *csv_path, *plot_path;
} BenchOptions;

void cli_bench_usage(FILE *out)
{
    fprintf(out,
            "usage: rbm bench CONFIG [-s SECTION.KEY=VALUE]... [--repeats N] [--epochs N]\n"
            "                 [--threads 1,2,...] [--sizes 5000,10000,...] [--csv FILE.csv]\n"
            "                 [--plot FILE.svg]\n"
            "\n"
            "Measures, on this machine, for CONFIG's shapes: the sgemm floor (the matrix products\n"
            "of an epoch by OpenBLAS, split as the trainer splits them), the same dense products\n"
            "by rbm's own AVX-512 or AVX2 kernels (where it has them), and the trainer's epoch\n"
            "time at each thread count, whose products with 0/1 samples may take fewer flops for\n"
            "the same bits (sums of the rows where a sample is 1, bit counts: then train/floor\n"
            "is under 1); seconds against data size with a least-squares line and R^2; total\n"
            "time against epochs; the cost of --profile; and, at the start and the end, a cache\n"
            "line's round trip between the first two CPUs (on a VM the host's placement of the\n"
            "vCPUs changes it, and the multi-thread figures with it). Figures are medians over\n"
            "the repeats.\n"
            "\n"
            "  --repeats N   runs per figure (default 5)\n"
            "  --epochs N    epochs per run (default 2)\n"
            "  --threads L   thread counts (default 1 to the number of cores, %d here)\n"
            "  --sizes L     sample counts for the size sweep (default 5000,10000,20000,42000,\n"
            "                capped at the data set's rows)\n"
            "  --csv FILE    every figure as CSV (default bench.csv)\n"
            "  --plot FILE   SVG plot of seconds per epoch against samples (default bench.svg)\n",
            rbm_default_threads());
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

/* Least squares y = a + b x; returns R^2, or NaN when the x are all the same (one size, or
 * sizes all capped at the data's rows): no line is fitted then, and none is reported. */
static double fit_line(const double *x, const double *y, int n, double *a, double *b)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0;
    *a = *b = 0;
    for (int i = 0; i < n; i++)
        mx += x[i] / n, my += y[i] / n;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (!(sxx > 0))
        return NAN;
    *b = sxy / sxx;
    *a = my - *b * mx;
    return syy > 0 ? (sxy * sxy) / (sxx * syy) : 1.0;
}

static int parse_list(const char *text, int64_t *out, int *count, const char *what)
{
    *count = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long long value = strtoll(p, &end, 10);
        if (end == p || value <= 0 || (*end != ',' && *end != '\0') || *count == MAX_LIST) {
            fprintf(stderr, "rbm bench: %s: '%s' is not a list of positive whole numbers\n", what,
                    text);
            return -1;
        }
        out[(*count)++] = value;
        p = *end ? end + 1 : end;
    }
    return *count ? 0 : -1;
}

typedef struct EpochSink {
    double *seconds;
    int count, capacity;
} EpochSink;

static int collect(const RbmEpochReport *report, void *user)
{
    EpochSink *sink = user;
    if (sink->count < sink->capacity)
        sink->seconds[sink->count++] = report->seconds;
    return 0;
}

/* One run of `epochs` epochs: each epoch's seconds appended to sink; wall time returned. */
static int time_run(const RbmSettings *base, const RbmDataset *data, int threads, int epochs,
                    RunKind kind, int profiling, EpochSink *sink, double *wall, RbmError *error)
{
    RbmSettings settings = *base;
    settings.threads = threads;
    settings.epochs = epochs;
    double start = cli_now();
    int result;
    if (kind != RUN_TRAINER) {
        double seconds[256];
        result = kind == RUN_FLOOR ? rbm_measure_floor(&settings, data, seconds, error)
                                   : rbm_measure_own_floor(&settings, data, seconds, error);
        for (int e = 0; result == 0 && e < epochs && sink->count < sink->capacity; e++)
            sink->seconds[sink->count++] = seconds[e];
    } else {
        RbmProfile profile = {0};
        RbmTrainHooks hooks = {collect, sink, profiling ? &profile : NULL};
        RbmModel *model = NULL;
        result = rbm_train(&model, &settings, data, &hooks, error);
        rbm_model_free(model);
        rbm_profile_free(&profile);
    }
    *wall = cli_now() - start;
    return result;
}

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

static int write_plot(const char *path, const BenchOptions *o, double sweep[][MAX_LIST],
                      const char *title)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    const double width = 720, height = 440, left = 70, right = 150, top = 40, bottom = 50;
    double max_x = 0, max_y = 0;
    for (int s = 0; s < o->size_count; s++)
        max_x = o->sizes[s] > max_x ? (double)o->sizes[s] : max_x;
    for (int t = 0; t < o->thread_count; t++)
        for (int s = 0; s < o->size_count; s++)
            max_y = sweep[t][s] > max_y ? sweep[t][s] : max_y;
    max_y *= 1.1;
    double plot_w = width - left - right, plot_h = height - top - bottom;
#define X(v) (left + (v) / max_x * plot_w)
#define Y(v) (top + plot_h - (v) / max_y * plot_h)
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", width, height);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"22\" font-size=\"14\">%s</text>\n", left, title);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left,
            top + plot_h, left + plot_w, top + plot_h);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left,
            top, left, top + plot_h);
    for (int i = 0; i <= 5; i++) {
        double xv = max_x * i / 5, yv = max_y * i / 5;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", X(xv),
                top + plot_h + 18, xv);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", left - 6,
                Y(yv) + 4, yv);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                left, Y(yv), left + plot_w, Y(yv));
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">samples</text>\n",
            left + plot_w / 2, height - 10);
    fprintf(f, "<text transform=\"translate(16,%.1f) rotate(-90)\" text-anchor=\"middle\">"
               "seconds per epoch</text>\n", top + plot_h / 2);
    for (int t = 0; t < o->thread_count; t++) {
        const char *colour = colours[t % 8];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour);
        for (int s = 0; s < o->size_count; s++)
            fprintf(f, "%.1f,%.1f ", X((double)o->sizes[s]), Y(sweep[t][s]));
        fprintf(f, "\"/>\n");
        for (int s = 0; s < o->size_count; s++)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                    X((double)o->sizes[s]), Y(sweep[t][s]), colour);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%d thread%s</text>\n",
                left + plot_w + 15, top + 20 + 18.0 * t, colour, o->threads[t],
                o->threads[t] == 1 ? "" : "s");
    }
#undef X
#undef Y
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -EIO;
}

int cli_bench(int argc, char **argv)
{
    BenchOptions o = {.repeats = 5, .epochs = 2, .csv_path = "bench.csv", .plot_path = "bench.svg"};
    const char *config_path = NULL;
    RbmSettings settings;
    const char *overrides[MAX_LIST];
    int override_count = 0;
    int64_t list[MAX_LIST];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_bench_usage(stdout);
            return EXIT_OK;
        }
        if (arg[0] != '-') {
            if (config_path) {
                fprintf(stderr, "rbm bench: more than one CONFIG\n");
                return EXIT_BAD_INPUT;
            }
            config_path = arg;
            continue;
        }
        if (!value) {
            fprintf(stderr, "rbm bench: %s needs a value (see rbm bench --help)\n", arg);
            return EXIT_BAD_INPUT;
        }
        i++;
        if ((strcmp(arg, "-s") == 0 || strcmp(arg, "--set") == 0) && override_count < MAX_LIST) {
            overrides[override_count++] = value;
        } else if (strcmp(arg, "--repeats") == 0 || strcmp(arg, "--epochs") == 0) {
            int count;
            if (parse_list(value, list, &count, arg) < 0 || count != 1 || list[0] > 255)
                return EXIT_BAD_INPUT;
            *(strcmp(arg, "--repeats") == 0 ? &o.repeats : &o.epochs) = (int)list[0];
        } else if (strcmp(arg, "--threads") == 0) {
            if (parse_list(value, list, &o.thread_count, arg) < 0)
                return EXIT_BAD_INPUT;
            for (int t = 0; t < o.thread_count; t++)
                o.threads[t] = (int)(list[t] > 4096 ? 4096 : list[t]);
        } else if (strcmp(arg, "--sizes") == 0) {
            if (parse_list(value, o.sizes, &o.size_count, arg) < 0)
                return EXIT_BAD_INPUT;
        } else if (strcmp(arg, "--csv") == 0) {
            o.csv_path = value;
        } else if (strcmp(arg, "--plot") == 0) {
            o.plot_path = value;
        } else {
            fprintf(stderr, "rbm bench: unknown option '%s' (see rbm bench --help)\n", arg);
            return EXIT_BAD_INPUT;
        }
    }
    if (!config_path) {
        cli_bench_usage(stderr);
        return EXIT_BAD_INPUT;
    }
    RbmError error = {{0}};
    int result = cli_load_settings(&settings, config_path, overrides, override_count, &error);
    if (result == 0)
        result = rbm_check_blas(&error);
    RbmDataset *data = NULL;
    if (result == 0)
        result = rbm_dataset_load(&data, settings.train_path, settings.format, settings.scale,
                                  settings.limit, &error);
    if (result != 0)
        return cli_report(result, &error);
    const int64_t rows = rbm_dataset_rows(data);
    if (o.thread_count == 0)
        for (int t = 1; t <= rbm_default_threads() && t <= MAX_LIST; t++)
            o.threads[o.thread_count++] = t;
    if (o.size_count == 0) {
        const int64_t defaults[] = {5000, 10000, 20000, 42000};
        for (int s = 0; s < 4; s++)
            if (defaults[s] < rows)
                o.sizes[o.size_count++] = defaults[s];
        o.sizes[o.size_count++] = rows < 42000 ? rows : 42000;
    }
    for (int s = 0; s < o.size_count; s++)
        if (o.sizes[s] > rows)
            o.sizes[s] = rows;

    FILE *csv = fopen(o.csv_path, "w");
    if (!csv) {
        fprintf(stderr, "rbm bench: %s: %s\n", o.csv_path, strerror(errno));
        rbm_dataset_free(data);
        return EXIT_FAILURE_OTHER;
    }
    fprintf(csv, "measure,threads,samples,epochs,repeats,median_seconds\n");
    printf("rbm bench: %s\n  %lld samples x %lld visible -> %lld hidden, batch %lld, chunk_rows %lld, "
           "update_strips %lld%s, split %s%s; %d repeats of %d epochs\n  OpenBLAS core %s, "
           "rbm kernels %s, %d cores\n",
           config_path, (long long)rows, (long long)rbm_dataset_columns(data),
           (long long)settings.hidden, (long long)settings.batch_size,
           (long long)settings.chunk_rows, (long long)settings.update_strips,
           settings.update_strips ? "" : " (auto)",
           settings.split == RBM_SPLIT_HIDDEN ? "hidden" : "rows",
           settings.bit_counts ? ", bit_counts true (the floor counts bits too)" : "", o.repeats,
           o.epochs,
           rbm_blas_core(), rbm_kernels(), rbm_default_threads());
    /* The host's placement of the vCPUs, which moves the multi-thread figures: before and after */
    enum { TRIP_ROUNDS = 100000 };
    int trip_cpu_a = 0, trip_cpu_b = 0;
    const bool trip = cli_two_cpus(&trip_cpu_a, &trip_cpu_b) == 0;
    const double trip_before = trip ? cli_round_trip_ns(trip_cpu_a, trip_cpu_b, TRIP_ROUNDS, NULL)
                                    : -1;
    if (trip_before >= 0)
        printf("  a cache line's round trip between CPUs %d and %d: %.0f ns (again at the end)\n",
               trip_cpu_a, trip_cpu_b, trip_before);
    printf("\n");

    /* 1-2. floor and trainer per thread count, repeats interleaved */
    int capacity = o.repeats * o.epochs;
    double *samples = calloc((size_t)capacity * 3 * MAX_LIST, sizeof(double));
    double floor_s[MAX_LIST], own_s[MAX_LIST], train_s[MAX_LIST], wall;
    EpochSink floor_sink[MAX_LIST], own_sink[MAX_LIST], train_sink[MAX_LIST];
    for (int t = 0; t < o.thread_count; t++) {
        floor_sink[t] = (EpochSink){samples + (size_t)(3 * t) * capacity, 0, capacity};
        own_sink[t] = (EpochSink){samples + (size_t)(3 * t + 1) * capacity, 0, capacity};
        train_sink[t] = (EpochSink){samples + (size_t)(3 * t + 2) * capacity, 0, capacity};
    }
    for (int r = 0; r < o.repeats && result == 0; r++)
        for (int t = 0; t < o.thread_count && result == 0; t++) {
            result = time_run(&settings, data, o.threads[t], o.epochs, RUN_FLOOR, 0, &floor_sink[t],
                              &wall, &error);
            if (result == 0)
                result = time_run(&settings, data, o.threads[t], o.epochs, RUN_OWN_FLOOR, 0,
                                  &own_sink[t], &wall, &error);
            if (result == 0)
                result = time_run(&settings, data, o.threads[t], o.epochs, RUN_TRAINER, 0,
                                  &train_sink[t], &wall, &error);
        }
    if (result != 0) {
        fclose(csv);
        rbm_dataset_free(data);
        free(samples);
        return cli_report(result, &error);
    }
    printf("seconds per epoch (median of %d)\n", capacity);
    printf("  floor_s: OpenBLAS, the dense products alone; own_s: the same by rbm's own dense "
           "kernels\n");
    printf("  threads   floor_s     own_s   train_s   train/floor   train/own   samples/s   "
           "speed-up vs 1st\n");
    for (int t = 0; t < o.thread_count; t++) {
        floor_s[t] = median(floor_sink[t].seconds, floor_sink[t].count);
        own_s[t] = median(own_sink[t].seconds, own_sink[t].count);
        train_s[t] = median(train_sink[t].seconds, train_sink[t].count);
        printf("  %7d %9.3f %9.3f %9.3f %13.3f %11.3f %11.0f %13.2fx\n", o.threads[t], floor_s[t],
               own_s[t], train_s[t], train_s[t] / floor_s[t], train_s[t] / own_s[t],
               (double)rows / train_s[t], train_s[0] / train_s[t]);
        fprintf(csv, "sgemm_floor,%d,%lld,1,%d,%.6f\n", o.threads[t], (long long)rows, o.repeats,
                floor_s[t]);
        fprintf(csv, "own_products_floor,%d,%lld,1,%d,%.6f\n", o.threads[t], (long long)rows,
                o.repeats, own_s[t]);
        fprintf(csv, "train_epoch,%d,%lld,1,%d,%.6f\n", o.threads[t], (long long)rows, o.repeats,
                train_s[t]);
    }

    /* 3. seconds per epoch against samples, one line per thread count */
    static double sweep[MAX_LIST][MAX_LIST];
    printf("\nseconds per epoch against samples (median of %d)\n  samples", o.repeats);
    for (int t = 0; t < o.thread_count; t++)
        printf("  %6d thr", o.threads[t]);
    printf("\n");
    for (int s = 0; s < o.size_count && result == 0; s++) {
        RbmDataset *head = NULL;
        rbm_dataset_head(&head, data, o.sizes[s]);
        printf("  %7lld", (long long)o.sizes[s]);
        for (int t = 0; t < o.thread_count && result == 0; t++) {
            EpochSink sink = {samples, 0, capacity};
            for (int r = 0; r < o.repeats && result == 0; r++)
                result = time_run(&settings, head, o.threads[t], 1, RUN_TRAINER, 0, &sink, &wall,
                                  &error);
            sweep[t][s] = median(sink.seconds, sink.count);
            printf("  %10.4f", sweep[t][s]);
            fprintf(csv, "size_sweep_epoch,%d,%lld,1,%d,%.6f\n", o.threads[t],
                    (long long)o.sizes[s], o.repeats, sweep[t][s]);
        }
        printf("\n");
        rbm_dataset_free(head);
    }
    for (int t = 0; t < o.thread_count && result == 0; t++) {
        double x[MAX_LIST], a, b;
        for (int s = 0; s < o.size_count; s++)
            x[s] = (double)o.sizes[s];
        double r2 = fit_line(x, sweep[t], o.size_count, &a, &b);
        if (isnan(r2)) {
            printf("  no line for %d thread%s: the sweep needs two different sizes\n",
                   o.threads[t], o.threads[t] == 1 ? "" : "s");
            continue;
        }
        printf("  fit, %d thread%s: seconds = %.4f + %.3e * samples, R^2 = %.5f\n", o.threads[t],
               o.threads[t] == 1 ? "" : "s", a, b, r2);
        fprintf(csv, "size_sweep_r2,%d,,,%d,%.6f\n", o.threads[t], o.repeats, r2);
    }

    /* 4. total seconds against epochs, at the most threads */
    const int last = o.thread_count - 1, epoch_counts[3] = {1, 2, 4};
    double epochs_x[3] = {1, 2, 4}, epochs_y[3] = {0, 0, 0};
    printf("\ntotal seconds against epochs (%d threads, median of %d)\n", o.threads[last],
           o.repeats);
    for (int e = 0; e < 3 && result == 0; e++) {
        double walls[256];
        for (int r = 0; r < o.repeats && result == 0; r++) {
            EpochSink sink = {samples, 0, capacity};
            result = time_run(&settings, data, o.threads[last], epoch_counts[e], RUN_TRAINER, 0,
                              &sink, &walls[r], &error);
        }
        epochs_x[e] = epoch_counts[e];
        epochs_y[e] = median(walls, o.repeats);
        printf("  %d epoch%s: %.3f s\n", epoch_counts[e], e ? "s" : "", epochs_y[e]);
        fprintf(csv, "epochs_sweep_total,%d,%lld,%d,%d,%.6f\n", o.threads[last], (long long)rows,
                epoch_counts[e], o.repeats, epochs_y[e]);
    }
    double a, b;
    double r2 = fit_line(epochs_x, epochs_y, 3, &a, &b);
    printf("  fit: seconds = %.3f + %.3f * epochs, R^2 = %.5f\n", a, b, r2);
    fprintf(csv, "epochs_sweep_r2,%d,%lld,,%d,%.6f\n", o.threads[last], (long long)rows,
            o.repeats, r2);

    /* 5. what --profile costs, at the most threads */
    EpochSink with = {samples, 0, capacity}, without = {samples + capacity, 0, capacity};
    for (int r = 0; r < o.repeats && result == 0; r++) {
        result = time_run(&settings, data, o.threads[last], o.epochs, RUN_TRAINER, 1, &with, &wall,
                          &error);
        if (result == 0)
            result = time_run(&settings, data, o.threads[last], o.epochs, RUN_TRAINER, 0, &without,
                              &wall, &error);
    }
    if (result == 0) {
        double on = median(with.seconds, with.count), off = median(without.seconds, without.count);
        printf("\n--profile cost (%d threads): %.4f s per epoch with, %.4f without: %+.2f%%\n",
               o.threads[last], on, off, 100.0 * (on / off - 1));
        fprintf(csv, "profile_on_epoch,%d,%lld,1,%d,%.6f\n", o.threads[last], (long long)rows,
                o.repeats, on);
        fprintf(csv, "profile_off_epoch,%d,%lld,1,%d,%.6f\n", o.threads[last], (long long)rows,
                o.repeats, off);
    }
    const double trip_after = trip_before >= 0 && result == 0
                                  ? cli_round_trip_ns(trip_cpu_a, trip_cpu_b, TRIP_ROUNDS, NULL)
                                  : -1;
    if (trip_after >= 0) {
        printf("\na cache line's round trip between CPUs %d and %d: %.0f ns at the end, %.0f ns "
               "at the start\n", trip_cpu_a, trip_cpu_b, trip_after, trip_before);
        fprintf(csv, "cache_line_round_trip_start,2,,,5,%.9f\n", trip_before * 1e-9);
        fprintf(csv, "cache_line_round_trip_end,2,,,5,%.9f\n", trip_after * 1e-9);
    }
    free(samples);
    int closed = fclose(csv);
    char title[256];
    snprintf(title, sizeof title, "rbm: %lld visible x %lld hidden, batch %lld (core %s)",
             (long long)rbm_dataset_columns(data), (long long)settings.hidden,
             (long long)settings.batch_size, rbm_blas_core());
    rbm_dataset_free(data);
    if (result != 0)
        return cli_report(result, &error);
    if (closed != 0 || write_plot(o.plot_path, &o, sweep, title) != 0) {
        fprintf(stderr, "rbm bench: cannot write %s or %s\n", o.csv_path, o.plot_path);
        return EXIT_FAILURE_OTHER;
    }
    printf("\nwrote %s and %s\n", o.csv_path, o.plot_path);
    return EXIT_OK;
}
