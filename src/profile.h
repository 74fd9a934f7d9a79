/* Phase timers for rbm train --profile: a clock read at each phase boundary of a work unit,
 * nothing at all when profiling is off. */
#ifndef RBM_PROFILE_H
#define RBM_PROFILE_H

#include <time.h>

#include "rbm/rbm.h"

typedef struct PhaseTimer {
    RbmPhaseStats *stats; /* [RBM_PHASE_COUNT] of this worker, or NULL when off */
    double last;          /* the clock at the last boundary */
} PhaseTimer;

static inline double rbm_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline void phase_begin(PhaseTimer *timer)
{
    if (timer->stats)
        timer->last = rbm_now();
}

/* Charges the time since the last boundary to `phase`. */
static inline void phase_end(PhaseTimer *timer, RbmPhase phase, double flops)
{
    if (timer->stats) {
        double now = rbm_now();
        timer->stats[phase].seconds += now - timer->last;
        timer->stats[phase].calls++;
        timer->stats[phase].flops += flops;
        timer->last = now;
    }
}

#endif
