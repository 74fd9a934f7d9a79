/*
 * Preloaded by test_cli.py to make OpenBLAS answer what the machine's does not:
 * - openblas_get_corename(): a pre-AVX-512 core (SSE3 "Prescott"), as OpenBLAS 0.3.21 reports on
 *   CPUs newer than itself, unless OPENBLAS_CORETYPE is set; then the real library's choice.
 *   The test then sees rbm switch to the SkylakeX kernels on a machine whose OpenBLAS already
 *   picks them.
 * - openblas_get_parallel(): the number in RBM_FAKE_OPENBLAS_PARALLEL when that is set (1 is a
 *   pthreads build, 2 an OpenMP one), else the real answer. rbm must refuse to train then.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

char *openblas_get_corename(void);
int openblas_get_parallel(void);

__attribute__((visibility("default"))) char *openblas_get_corename(void)
{
    if (!getenv("OPENBLAS_CORETYPE"))
        return "Prescott";
    char *(*real)(void) = (char *(*)(void))dlsym(RTLD_NEXT, "openblas_get_corename");
    return real ? real() : "unknown";
}

__attribute__((visibility("default"))) int openblas_get_parallel(void)
{
    const char *fake = getenv("RBM_FAKE_OPENBLAS_PARALLEL");
    if (fake)
        return atoi(fake);
    int (*real)(void) = (int (*)(void))dlsym(RTLD_NEXT, "openblas_get_parallel");
    return real ? real() : -1;
}
