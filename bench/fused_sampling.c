/*
 * The fused sampling pass against its two-pass reference, per element, at the trainer's widths:
 *   sample:          pcg32_fill_uniform into a row buffer, then rbm_bernoulli_signed
 *                    against rbm_draw_samples (the uniforms compared as they are made);
 *   convert+sample:  rbm_bytes_to_probability of 8-bit data, the uniforms, the float samples
 *                    and the hand-over bytes (rbm_bernoulli_bytes), against
 *                    rbm_convert_draw_samples doing all four in one pass.
 * Both give the same bits (tests/test_kernels.c); this only times them. 1 thread, 100 rows a
 * call as in a mini-batch, median of the rounds.
 *
 *   bench_fused_sampling [WIDTH [ROUNDS]]     (defaults: 784, 21)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "timing.h"
#include "kernels.h"

enum { ROWS = 100, CALLS = 100 };

static double median(double *values, int n)
{
    bench_sort(values, n);
    return values[n / 2];
}

int main(int argc, char **argv)
{
    const size_t width = argc > 1 ? (size_t)atol(argv[1]) : 784;
    const int rounds = argc > 2 ? atoi(argv[2]) : 21;
    if (width == 0 || rounds <= 0 || rounds > 1000) {
        fprintf(stderr, "usage: bench_fused_sampling [WIDTH [ROUNDS]]\n");
        return 2;
    }
    float *probability = malloc(ROWS * width * sizeof(float));
    float *sample = malloc(ROWS * width * sizeof(float));
    float *uniform = malloc(width * sizeof(float));
    uint8_t *data = malloc(ROWS * width), *bytes = malloc(ROWS * width);
    double *times[4];
    for (int k = 0; k < 4; k++)
        times[k] = malloc((size_t)rounds * sizeof(double));
    if (!probability || !sample || !uniform || !data || !bytes || !times[0] || !times[1] ||
        !times[2] || !times[3])
        return 1;
    Pcg32 rng;
    pcg32_seed(&rng, 1, 2);
    for (size_t i = 0; i < ROWS * width; i++) {
        probability[i] = pcg32_uniform_reference(&rng);
        data[i] = (uint8_t)(pcg32_next(&rng) >> 24);
    }
    const double elements = (double)CALLS * ROWS * (double)width;
    for (int r = 0; r < rounds; r++) {
        double t0 = bench_now();
        for (int c = 0; c < CALLS; c++)
            for (size_t i = 0; i < ROWS; i++) {
                pcg32_fill_uniform(&rng, uniform, width);
                rbm_bernoulli_signed(sample + i * width, probability + i * width, uniform, 1.0f,
                                     width);
            }
        double t1 = bench_now();
        for (int c = 0; c < CALLS; c++)
            for (size_t i = 0; i < ROWS; i++)
                rbm_draw_samples(sample + i * width, NULL, false, 1.0f, probability + i * width,
                                 &rng, width);
        double t2 = bench_now();
        for (int c = 0; c < CALLS; c++) {
            rbm_bytes_to_probability(probability, data, 255.0f, ROWS * width);
            for (size_t i = 0; i < ROWS; i++) {
                pcg32_fill_uniform(&rng, uniform, width);
                rbm_bernoulli_signed(sample + i * width, probability + i * width, uniform, 1.0f,
                                     width);
                rbm_bernoulli_bytes(bytes + i * width, probability + i * width, uniform, width);
            }
        }
        double t3 = bench_now();
        for (int c = 0; c < CALLS; c++)
            for (size_t i = 0; i < ROWS; i++)
                rbm_convert_draw_samples(probability + i * width, sample + i * width,
                                         bytes + i * width, false, data + i * width, 255.0f, &rng,
                                         width);
        double t4 = bench_now();
        times[0][r] = (t1 - t0) / elements * 1e9;
        times[1][r] = (t2 - t1) / elements * 1e9;
        times[2][r] = (t3 - t2) / elements * 1e9;
        times[3][r] = (t4 - t3) / elements * 1e9;
    }
    printf("width %zu, %d x %d rows per round, median of %d rounds, ns per element\n", width,
           CALLS, ROWS, rounds);
    const double sample_two = median(times[0], rounds), sample_one = median(times[1], rounds);
    const double convert_two = median(times[2], rounds), convert_one = median(times[3], rounds);
    printf("  sample:          two passes %.3f, fused %.3f (%.2fx)\n", sample_two, sample_one,
           sample_two / sample_one);
    printf("  convert+sample:  two passes %.3f, fused %.3f (%.2fx)\n", convert_two, convert_one,
           convert_two / convert_one);
    printf("(check: %g)\n", (double)sample[width / 2] + bytes[width / 3]); /* keeps the work */
    for (int k = 0; k < 4; k++)
        free(times[k]);
    free(probability), free(sample), free(uniform), free(data), free(bytes);
    return 0;
}
