#define _GNU_SOURCE
#include "round_trip.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

typedef struct Trip {
    _Alignas(64) _Atomic long baton; /* odd: A's turn is done; even: B's */
    long rounds;
    double seconds; /* A's timing */
} Trip;

typedef struct Side {
    Trip *trip;
    int cpu;
} Side;

static void pin(int cpu)
{
    /* Both CPUs were checked against the process's set; if pinning fails anyway, the two
     * threads still run (unpinned) and finish, only the figure means less. */
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static void *side_a(void *argument)
{
    const Side *side = argument;
    Trip *trip = side->trip;
    pin(side->cpu);
    const double start = seconds_now();
    for (long i = 0; i < trip->rounds; i++) {
        atomic_store_explicit(&trip->baton, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&trip->baton, memory_order_acquire) != 2 * i + 2)
            ;
    }
    trip->seconds = seconds_now() - start;
    return NULL;
}

static void *side_b(void *argument)
{
    const Side *side = argument;
    Trip *trip = side->trip;
    pin(side->cpu);
    for (long i = 0; i < trip->rounds; i++) {
        while (atomic_load_explicit(&trip->baton, memory_order_acquire) != 2 * i + 1)
            ;
        atomic_store_explicit(&trip->baton, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

static int compare(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cli_round_trip_ns(int cpu_a, int cpu_b, long rounds, double *fastest_ns)
{
    /* Two threads spinning on one CPU would wait for the scheduler, round after round */
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (cpu_a == cpu_b || rounds < 1 || cpu_a < 0 || cpu_b < 0 || cpu_a >= CPU_SETSIZE ||
        cpu_b >= CPU_SETSIZE || sched_getaffinity(0, sizeof allowed, &allowed) != 0 ||
        !CPU_ISSET(cpu_a, &allowed) || !CPU_ISSET(cpu_b, &allowed))
        return -1;
    enum { TIMINGS = 5 };
    double nanoseconds[TIMINGS];
    Trip trip = {.rounds = rounds};
    Side a = {&trip, cpu_a}, b = {&trip, cpu_b};
    for (int timing = 0; timing < TIMINGS; timing++) {
        atomic_store(&trip.baton, 0);
        pthread_t thread_a, thread_b;
        if (pthread_create(&thread_b, NULL, side_b, &b) != 0)
            return -1;
        if (pthread_create(&thread_a, NULL, side_a, &a) != 0) {
            /* B waits for a baton that will not come: hand it every one it waits for */
            for (long i = 0; i < rounds; i++) {
                atomic_store(&trip.baton, 2 * i + 1);
                while (atomic_load(&trip.baton) != 2 * i + 2)
                    ;
            }
            pthread_join(thread_b, NULL);
            return -1;
        }
        pthread_join(thread_a, NULL);
        pthread_join(thread_b, NULL);
        nanoseconds[timing] = trip.seconds * 1e9 / (double)rounds;
    }
    qsort(nanoseconds, TIMINGS, sizeof *nanoseconds, compare);
    if (fastest_ns)
        *fastest_ns = nanoseconds[0];
    return nanoseconds[TIMINGS / 2];
}

int cli_two_cpus(int *cpu_a, int *cpu_b)
{
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return -1;
    int found = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++)
        if (CPU_ISSET(cpu, &allowed))
            *(found++ == 0 ? cpu_a : cpu_b) = cpu;
    return found == 2 ? 0 : -1;
}
