/* PCG32: known answers, the lane-parallel fill against the serial generator, and jumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pcg32.h"

/* pcg32-demo (pcg-c-basic) with seed 42, sequence 54 prints these first six outputs. */
static void test_known_answers(void **state)
{
    (void)state;
    const uint32_t expected[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                  0x83d2f293, 0xbfa4784b, 0xcbed606e};
    Pcg32 rng;
    pcg32_seed(&rng, 42, 54);
    for (int i = 0; i < 6; i++)
        assert_int_equal(pcg32_next(&rng), expected[i]);
}

static void test_fill_matches_serial(void **state)
{
    (void)state;
    float fast[1100], slow[1100];
    for (size_t n = 0; n <= 1100; n += (n < 70 ? 1 : 97)) {
        Pcg32 a, b;
        pcg32_seed(&a, 7, 3);
        pcg32_seed(&b, 7, 3);
        pcg32_advance(&a, n * 31);
        pcg32_advance(&b, n * 31);
        pcg32_fill_uniform(&a, fast, n);
        for (size_t i = 0; i < n; i++)
            slow[i] = pcg32_uniform_reference(&b);
        assert_memory_equal(fast, slow, n * sizeof(float));
        assert_true(a.state == b.state); /* both left n outputs further */
        for (size_t i = 0; i < n; i++)
            assert_true(fast[i] >= 0.0f && fast[i] < 1.0f);
    }
}

static void test_advance_matches_stepping(void **state)
{
    (void)state;
    Pcg32 stepped, jumped;
    pcg32_seed(&stepped, 123456789, 11);
    pcg32_seed(&jumped, 123456789, 11);
    uint64_t done = 0;
    const uint64_t targets[] = {1, 2, 3, 17, 1000, 4096, 65537};
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        while (done < targets[t]) {
            pcg32_next(&stepped);
            done++;
        }
        Pcg32 copy = jumped;
        pcg32_advance(&copy, targets[t]);
        assert_true(copy.state == stepped.state);
    }
    /* A jump of -n (mod 2^64) goes back. */
    Pcg32 there = jumped;
    pcg32_advance(&there, 1000);
    pcg32_advance(&there, (uint64_t)0 - 1000);
    assert_true(there.state == jumped.state);
}

static void test_streams_and_seeds_differ(void **state)
{
    (void)state;
    Pcg32 a, b, c;
    pcg32_seed(&a, 1, 1);
    pcg32_seed(&b, 2, 1);
    pcg32_seed(&c, 1, 2);
    uint32_t x = pcg32_next(&a), y = pcg32_next(&b), z = pcg32_next(&c);
    assert_true(x != y && x != z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_fill_matches_serial),
        cmocka_unit_test(test_advance_matches_stepping),
        cmocka_unit_test(test_streams_and_seeds_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
