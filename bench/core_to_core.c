/*
 * How long one cache line takes to go from one core to another and back: two threads, pinned
 * to CPU_A and CPU_B, hand a counter to each other through one line, ROUNDS times. Every batch
 * of rbm's 2-thread training moves lines this way (the samples, the partial products, W), and
 * on a VM this round trip changes as the host places the vCPUs: BENCHMARKS.md ("Session 9")
 * has it beside the 2-thread speed-up measured in the same run. Prints the median of 5.
 *
 *   bench_core_to_core [CPU_A CPU_B [ROUNDS]]     (default: 0 1 200000)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(64) _Atomic long baton; /* odd: A's turn is done; even: B's */
enum { default_rounds = 200000 };
static long rounds = default_rounds;

static int pin(long cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *partner(void *cpu)
{
    if (pin(*(long *)cpu) != 0)
        return (void *)1;
    for (long i = 0; i < rounds; i++) {
        while (atomic_load_explicit(&baton, memory_order_acquire) != 2 * i + 1)
            ;
        atomic_store_explicit(&baton, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

static double seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static int compare(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A whole non-negative number, or -1 (so "1x" or "-3" is a usage error, not CPU 1 or 0). */
static long whole_number(const char *text)
{
    char *end;
    errno = 0;
    const long value = strtol(text, &end, 10);
    return errno == 0 && end != text && *end == '\0' && value >= 0 ? value : -1;
}

int main(int argc, char **argv)
{
    long cpu_a = 0, cpu_b = 1;
    if (argc > 2) {
        cpu_a = whole_number(argv[1]);
        cpu_b = whole_number(argv[2]);
    }
    if (argc > 3)
        rounds = whole_number(argv[3]);
    if (argc == 2 || argc > 4 || cpu_a < 0 || cpu_b < 0 || cpu_a >= CPU_SETSIZE ||
        cpu_b >= CPU_SETSIZE || cpu_a == cpu_b || rounds < 1) {
        fprintf(stderr, "usage: bench_core_to_core [CPU_A CPU_B [ROUNDS]]   (two different CPUs; default: 0 1 %ld)\n",
                (long)default_rounds);
        return 2;
    }
    /* Both CPUs are checked before any thread waits on the other: a partner that cannot be
     * pinned would leave this thread spinning for ever. */
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return 1;
    for (int i = 0; i < 2; i++) {
        const long cpu = i == 0 ? cpu_a : cpu_b;
        if (!CPU_ISSET((int)cpu, &allowed)) {
            fprintf(stderr, "bench_core_to_core: cannot run on CPU %ld (not in this process's "
                            "CPU set)\n", cpu);
            return 1;
        }
    }
    if (pin(cpu_a) != 0) {
        fprintf(stderr, "bench_core_to_core: cannot run on CPU %ld\n", cpu_a);
        return 1;
    }
    double nanoseconds[5];
    for (int repeat = 0; repeat < 5; repeat++) {
        atomic_store(&baton, 0);
        pthread_t thread;
        if (pthread_create(&thread, NULL, partner, &cpu_b) != 0)
            return 1;
        const double start = seconds();
        for (long i = 0; i < rounds; i++) {
            atomic_store_explicit(&baton, 2 * i + 1, memory_order_release);
            while (atomic_load_explicit(&baton, memory_order_acquire) != 2 * i + 2)
                ;
        }
        nanoseconds[repeat] = (seconds() - start) * 1e9 / (double)rounds;
        void *failed = NULL;
        pthread_join(thread, &failed);
        if (failed) {
            fprintf(stderr, "bench_core_to_core: cannot run on CPU %ld\n", cpu_b);
            return 1;
        }
    }
    qsort(nanoseconds, 5, sizeof *nanoseconds, compare);
    printf("CPU %ld <-> CPU %ld: a cache line's round trip %.0f ns (median of 5, %ld rounds "
           "each; fastest %.0f)\n",
           cpu_a, cpu_b, nanoseconds[2], rounds, nanoseconds[0]);
    return 0;
}
