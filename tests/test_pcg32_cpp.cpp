// rbm's PCG32 against the reference implementation, pcg-cpp (Debian: libpcg-cpp-dev):
// the same seed and stream give the same outputs, before and after jumps of any size.
#include <cstdint>
#include <cstdio>
#include <pcg_random.hpp>

extern "C" {
#include "pcg32.h"
}

static int failures = 0;

static void check(bool ok, const char *what, uint64_t detail)
{
    if (!ok) {
        std::printf("FAIL: %s (%llu)\n", what, (unsigned long long)detail);
        failures++;
    }
}

int main()
{
    const uint64_t seeds[] = {0, 1, 42, 0xdeadbeefcafef00dULL};
    const uint64_t streams[] = {0, 54, 0x5242, 0x7fffffffffffffffULL};
    int checked = 0;
    for (uint64_t seed : seeds) {
        for (uint64_t stream : streams) {
            pcg32 reference(seed, stream);
            Pcg32 ours;
            pcg32_seed(&ours, seed, stream);
            for (int i = 0; i < 1000; i++, checked++)
                check(reference() == pcg32_next(&ours), "first 1000 outputs", (uint64_t)i);
            const uint64_t deltas[] = {1, 2, 15, 16, 17, 1000, 123456789, 1ULL << 40,
                                       (1ULL << 63) + 12345, ~0ULL};
            for (uint64_t delta : deltas) {
                reference.advance(delta);
                pcg32_advance(&ours, delta);
                for (int i = 0; i < 10; i++, checked++)
                    check(reference() == pcg32_next(&ours), "outputs after advance", delta);
                /* and the lane-parallel fill continues the same sequence */
                float filled[37];
                pcg32_fill_uniform(&ours, filled, 37);
                for (int i = 0; i < 37; i++, checked++)
                    check(filled[i] == pcg32_to_uniform(reference()), "fill after advance", delta);
            }
        }
    }
    std::printf("%d comparisons, %d failures\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
