/* How long one cache line takes to go from one core to another and back. Every batch of a
 * multi-threaded run moves lines between the cores this way (samples, partial products, W),
 * and on a VM the round trip changes as the host places the vCPUs: on the project's 2-vCPU
 * machines it switched between about 100 and 480 ns within the hour, and the 2-thread epoch
 * time followed it (BENCHMARKS.md, "Session 10"). rbm bench prints it before and after its
 * runs; bench/core_to_core.c is the stand-alone form. */
#ifndef RBM_CLI_ROUND_TRIP_H
#define RBM_CLI_ROUND_TRIP_H

/* Two threads of their own, pinned to cpu_a and cpu_b (the caller's affinity is left as it
 * is), hand a counter to each other through one line `rounds` times; five timings. Returns
 * the median in nanoseconds per round trip and puts the fastest in *fastest_ns (if not NULL),
 * or returns -1 when the two CPUs are the same or not both in this process's CPU set, or a
 * thread cannot start. */
double cli_round_trip_ns(int cpu_a, int cpu_b, long rounds, double *fastest_ns);

/* The first two CPUs of this process's CPU set: 0, or -1 when it has only one. */
int cli_two_cpus(int *cpu_a, int *cpu_b);

#endif
