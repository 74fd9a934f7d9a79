#include "memory.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long countdown = -1; /* < 0: never fail */
static atomic_long allocations;
static atomic_int failed;

static int should_fail(void)
{
    atomic_fetch_add(&allocations, 1);
    if (atomic_load(&countdown) < 0)
        return 0;
    if (atomic_fetch_sub(&countdown, 1) == 0) {
        atomic_store(&failed, 1);
        return 1;
    }
    return 0;
}

void *rbm_malloc(size_t size) { return should_fail() ? NULL : malloc(size); }
void *rbm_calloc(size_t count, size_t size) { return should_fail() ? NULL : calloc(count, size); }

char *rbm_strdup(const char *text)
{
    size_t length = strlen(text) + 1;
    char *copy = rbm_malloc(length);
    return copy ? memcpy(copy, text, length) : NULL;
}

int rbm_posix_memalign(void **out, size_t alignment, size_t size)
{
    return should_fail() ? -1 : posix_memalign(out, alignment, size);
}

void rbm_test_fail_allocation(long after)
{
    atomic_store(&allocations, 0);
    atomic_store(&failed, 0);
    atomic_store(&countdown, after);
}

long rbm_test_allocations(void) { return atomic_load(&allocations); }
int rbm_test_allocation_failed(void) { return atomic_load(&failed); }
