/* rbm train --profile: where the time went, per phase, per worker and summed (in the spirit
 * of IPython's %prun). */
#include <stdio.h>

#include "cli.h"

static void print_rows(FILE *out, const RbmPhaseStats *stats, double wall, int workers)
{
    for (int p = 0; p < RBM_PHASE_COUNT; p++) {
        const RbmPhaseStats *s = &stats[p];
        char rate[32] = "";
        if (s->flops > 0 && s->seconds > 0)
            snprintf(rate, sizeof rate, "%9.1f", s->flops / s->seconds / 1e9);
        fprintf(out, "  %-22s %9lld %10.3f %12.3g %7.1f%% %s\n", rbm_phase_name((RbmPhase)p),
                (long long)s->calls, s->seconds, s->calls ? s->seconds / (double)s->calls : 0.0,
                wall > 0 ? 100.0 * s->seconds / (wall * workers) : 0.0, rate);
    }
}

void cli_print_profile(FILE *out, const RbmProfile *profile, const CliTimes *io)
{
    const double wall = profile->wall_seconds;
    fprintf(out, "\nprofile: %.3f s of training on %d workers (shares are of wall time x workers)\n",
            wall, profile->workers);
#define HEADER "  %-22s %9s %10s %12s %8s %9s\n"
    RbmPhaseStats total[RBM_PHASE_COUNT] = {{0}};
    for (int w = 0; w < profile->workers; w++) {
        const RbmPhaseStats *stats = profile->per_worker + (size_t)w * RBM_PHASE_COUNT;
        fprintf(out, "worker %d\n", w);
        fprintf(out, HEADER, "phase", "calls", "total s", "s/call", "share", "GFLOP/s");
        print_rows(out, stats, wall, 1);
        for (int p = 0; p < RBM_PHASE_COUNT; p++) {
            total[p].calls += stats[p].calls;
            total[p].seconds += stats[p].seconds;
            total[p].flops += stats[p].flops;
        }
    }
    fprintf(out, "all workers\n");
    fprintf(out, HEADER, "phase", "calls", "total s", "s/call", "share", "GFLOP/s");
    print_rows(out, total, wall, profile->workers);
    double accounted = 0;
    for (int p = 0; p < RBM_PHASE_COUNT; p++)
        accounted += total[p].seconds;
    fprintf(out, "  %-22s %9s %10.3f %12s %7.1f%%\n", "(other)", "",
            wall * profile->workers - accounted, "",
            wall > 0 ? 100.0 * (1 - accounted / (wall * profile->workers)) : 0.0);
    /* products with fewer flops for the same bits: say so, or their GFLOP/s would mislead */
    if (profile->forward_ones)
        fprintf(out, "  (forward: sums of the rows where the samples are 1, the dense product's "
                     "bits and GFLOP/s)\n");
    if (profile->reverse_ones)
        fprintf(out, "  (reverse: sums of the rows where the samples are 1, the dense product's "
                     "bits and GFLOP/s)\n");
    if (profile->counted_gradient)
        fprintf(out, "  (gradient: h0^T v0 as bit counts, the dense product's bits and "
                     "GFLOP/s)\n");
    fprintf(out, "I/O (main thread)\n");
    fprintf(out, "  %-22s %9d %10.3f\n", "load data", 1, io->load_seconds);
    fprintf(out, "  %-22s %9d %10.3f\n", "save model", 1, io->save_seconds);
}
