/* The BLAS this library runs on: single-threaded OpenBLAS, called from many OpenMP workers at
 * once. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>

#include "blas_guard.h"
#include "error.h"
#include "gemm.h"
#include "rbm/rbm.h"

int openblas_get_parallel(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);

int rbm_check_blas(RbmError *error)
{
    int parallel = openblas_get_parallel();
    if (parallel != 0)
        return rbm_fail(error, -ENOTSUP,
                        "the OpenBLAS in use is multithreaded (openblas_get_parallel() = %d: %s); "
                        "rbm needs the single-threaded build (Debian: libopenblas0-serial), "
                        "because its own workers split the work and a threaded BLAS would change "
                        "the result with the thread count",
                        parallel, openblas_get_config());
    return 0;
}

const char *rbm_blas_config(void) { return openblas_get_config(); }
const char *rbm_blas_core(void) { return openblas_get_corename(); }

const char *rbm_kernels(void)
{
#if RBM_PRODUCTS_AVX512 && RBM_PRODUCTS_SUMS
    return "AVX-512+sums";
#elif RBM_PRODUCTS_AVX512
    return "AVX-512";
#elif RBM_PRODUCTS_AVX2
    return "AVX2";
#else
    return "plain C";
#endif
}
int rbm_default_threads(void) { return omp_get_num_procs(); }
const char *rbm_version(void) { return RBM_VERSION; }

/*
 * The single-threaded OpenBLAS (Debian's libopenblas0-serial 0.3.21) hands out its packing
 * buffers from a table whose slots it claims without a lock (memory.c, built without SMP), so
 * two workers calling sgemm at the same instant can be given the same buffer and corrupt each
 * other's products. OpenBLAS calls these two functions through its PLT, so the definitions
 * below take their place for the whole process and put a mutex around the real ones. The cost
 * is two uncontended lock operations per sgemm call.
 */
void *blas_memory_alloc(int procpos);
void blas_memory_free(void *buffer);

static pthread_mutex_t buffer_lock = PTHREAD_MUTEX_INITIALIZER;
static void *(*real_alloc)(int);
static void (*real_free)(void *);
static atomic_long guarded_calls;

static void find_real_functions(void)
{
    real_alloc = (void *(*)(int))dlsym(RTLD_NEXT, "blas_memory_alloc");
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "blas_memory_free");
}

__attribute__((visibility("default"))) void *blas_memory_alloc(int procpos)
{
    pthread_mutex_lock(&buffer_lock);
    if (!real_alloc)
        find_real_functions();
    void *buffer = real_alloc(procpos);
    pthread_mutex_unlock(&buffer_lock);
    atomic_fetch_add_explicit(&guarded_calls, 1, memory_order_relaxed);
    return buffer;
}

__attribute__((visibility("default"))) void blas_memory_free(void *buffer)
{
    pthread_mutex_lock(&buffer_lock);
    if (!real_free)
        find_real_functions();
    real_free(buffer);
    pthread_mutex_unlock(&buffer_lock);
}

long rbm_blas_guarded_calls(void) { return atomic_load(&guarded_calls); }
