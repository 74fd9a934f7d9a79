/*
 * Preloaded by test_cli.py: makes OpenBLAS report a pre-AVX-512 core (SSE3 "Prescott"), as
 * OpenBLAS 0.3.21 does on CPUs newer than itself, unless OPENBLAS_CORETYPE is set; then it
 * answers with the real library's choice. This lets the test see rbm switch to the SkylakeX
 * kernels on a machine whose OpenBLAS already picks them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

char *openblas_get_corename(void);
__attribute__((visibility("default"))) char *openblas_get_corename(void)
{
    if (!getenv("OPENBLAS_CORETYPE"))
        return "Prescott";
    char *(*real)(void) = (char *(*)(void))dlsym(RTLD_NEXT, "openblas_get_corename");
    return real ? real() : "unknown";
}
