/* The bench programs' clock and sorting of timings (each bench program includes this) */
#ifndef RBM_BENCH_TIMING_H
#define RBM_BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

/* seconds on the monotonic clock */
static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline int bench_by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* values[0..n) in ascending order */
static inline void bench_sort(double *values, int n)
{
    qsort(values, (size_t)n, sizeof *values, bench_by_value);
}

#endif
