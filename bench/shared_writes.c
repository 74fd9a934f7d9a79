/*
 * What a write to memory another core has just read costs, with the trainer's sizes.
 *
 * Each training batch, worker k rewrites its strip of W (weights[j] += rate * velocity[j]),
 * and then every worker reads all of W in its next forward product. The same happens to the
 * batch's samples: each worker writes its chunk's rows, and the gradient product reads all rows.
 * So every such write lands on cache lines another core holds.
 *
 * This program times the trainer's own write pass (rbm_weight_step, one strip per thread, as
 * the update) in three schedules:
 *   shared:           every thread then reads the whole array (as the forward product reads W);
 *   shared, streamed: the same, the pass writing with non-temporal stores (as the trainer does
 *                     with 2+ workers);
 *   private:          every thread then reads only its own strip, as many times (no sharing).
 * At 1 thread nothing is shared. At 2 threads a plain store to a line the other core holds must
 * first fetch the line and invalidate the copy (a read for ownership); a non-temporal store
 * writes the whole line without fetching it.
 *
 *   bench_shared_writes [FLOATS [ROUNDS]]     (defaults: 235200 = 300 x 784, 2000)
 */
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels.h"

typedef enum { SHARED, SHARED_STREAMED, PRIVATE } Schedule;
static const char *const schedule_names[] = {"shared", "shared, streamed", "private"};

/* The slowest thread's seconds per write pass, over `rounds` rounds of write then read. */
static double time_writes(float *weights, float *velocity, int64_t n, int rounds,
                          int threads, Schedule schedule, float *sink)
{
    double write_seconds = 0;
    float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
        const int worker = omp_get_thread_num();
        const int64_t first = n * worker / threads, end = n * (worker + 1) / threads;
        double mine = 0;
        for (int round = 0; round < rounds; round++) {
#pragma omp barrier
            double start = omp_get_wtime();
            rbm_weight_step(weights + first, velocity + first, 1e-6f, 0.0f,
                            schedule == SHARED_STREAMED, 1, end - first, 0);
            mine += omp_get_wtime() - start;
#pragma omp barrier
            float sum = 0;
            if (schedule != PRIVATE) {
                for (int64_t j = 0; j < n; j++)
                    sum += weights[j];
            } else {
                for (int pass = 0; pass < threads; pass++)
                    for (int64_t j = first; j < end; j++)
                        sum += weights[j];
            }
            total += sum;
        }
#pragma omp critical
        if (mine > write_seconds)
            write_seconds = mine;
    }
    *sink += total;
    return write_seconds / rounds;
}

int main(int argc, char **argv)
{
    const int64_t n = argc > 1 ? atoll(argv[1]) : 300 * 784;
    const int rounds = argc > 2 ? atoi(argv[2]) : 2000;
    if (n < 1024 || rounds < 1) {
        fprintf(stderr, "usage: bench_shared_writes [FLOATS >= 1024 [ROUNDS >= 1]]\n");
        return 2;
    }
    float *weights = aligned_alloc(64, ((size_t)n * sizeof(float) + 63) / 64 * 64);
    float *velocity = malloc((size_t)n * sizeof(float));
    if (!weights || !velocity) {
        fprintf(stderr, "bench_shared_writes: out of memory\n");
        return 1;
    }
    for (int64_t j = 0; j < n; j++) {
        weights[j] = 0;
        velocity[j] = (float)(j % 97);
    }
    float sink = 0;
    printf("%lld floats (%.0f KB), %d rounds; the slowest thread's write pass per round\n",
           (long long)n, (double)n * 4 / 1024, rounds);
    printf("threads  schedule          us/pass  ns/float written\n");
    const int max_threads = omp_get_max_threads();
    for (int threads = 1; threads <= max_threads; threads *= 2)
        for (Schedule schedule = SHARED; schedule <= PRIVATE; schedule++) {
            time_writes(weights, velocity, n, rounds / 10 + 1, threads, schedule, &sink); /* warm */
            double seconds = time_writes(weights, velocity, n, rounds, threads, schedule, &sink);
            printf("%7d  %-16s  %7.1f  %6.3f\n", threads, schedule_names[schedule],
                   seconds * 1e6, seconds * 1e9 / ((double)n / threads));
        }
    free(weights);
    free(velocity);
    return sink == 12345.0f; /* keeps the reads */
}
