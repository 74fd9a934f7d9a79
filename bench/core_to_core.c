/*
 * How long one cache line takes to go from one core to another and back: two threads, pinned
 * to CPU_A and CPU_B, hand a counter to each other through one line, ROUNDS times
 * (src/cli/round_trip.c, which rbm bench also runs before and after its runs). Every batch of
 * rbm's 2-thread training moves lines this way (the samples, the partial products, W), and on
 * a VM this round trip changes as the host places the vCPUs: BENCHMARKS.md ("Session 10") has
 * it beside the 2-thread speed-up measured in the same run. Prints the median of 5.
 *
 *   bench_core_to_core [CPU_A CPU_B [ROUNDS]]     (default: 0 1 200000)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "round_trip.h"

enum { default_rounds = 200000 };

/* A whole non-negative number that fits an int, or -1 (so "1x" or "-3" is a usage error) */
static long whole_number(const char *text)
{
    char *end;
    errno = 0;
    const long value = strtol(text, &end, 10);
    return errno == 0 && end != text && *end == '\0' && value >= 0 && value <= 1 << 30 ? value
                                                                                        : -1;
}

int main(int argc, char **argv)
{
    long cpu_a = 0, cpu_b = 1, rounds = default_rounds;
    if (argc > 2) {
        cpu_a = whole_number(argv[1]);
        cpu_b = whole_number(argv[2]);
    }
    if (argc > 3)
        rounds = whole_number(argv[3]);
    if (argc == 2 || argc > 4 || cpu_a < 0 || cpu_b < 0 || cpu_a == cpu_b || rounds < 1) {
        fprintf(stderr, "usage: bench_core_to_core [CPU_A CPU_B [ROUNDS]]   (two different CPUs; "
                        "default: 0 1 %d)\n", default_rounds);
        return 2;
    }
    double fastest;
    const double median = cli_round_trip_ns((int)cpu_a, (int)cpu_b, rounds, &fastest);
    if (median < 0) {
        fprintf(stderr, "bench_core_to_core: cannot run on CPUs %ld and %ld (not both in this "
                        "process's CPU set)\n", cpu_a, cpu_b);
        return 1;
    }
    printf("CPU %ld <-> CPU %ld: a cache line's round trip %.0f ns (median of 5, %ld rounds "
           "each; fastest %.0f)\n", cpu_a, cpu_b, median, rounds, fastest);
    return 0;
}
