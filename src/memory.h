/* Every allocation of the library goes through these, so that tests can make the Nth one fail
 * (tests/test_out_of_memory.c) and check that each failure ends in a clean -ENOMEM. */
#ifndef RBM_MEMORY_H
#define RBM_MEMORY_H

#include <stddef.h>

void *rbm_malloc(size_t size);
void *rbm_calloc(size_t count, size_t size);
char *rbm_strdup(const char *text);
int rbm_posix_memalign(void **out, size_t alignment, size_t size);

/* Test hook: the allocation `countdown` calls from now fails (0 = the next one); -1 = never. */
void rbm_test_fail_allocation(long countdown);
/* Allocations made since the last rbm_test_fail_allocation, and whether one was failed. */
long rbm_test_allocations(void);
int rbm_test_allocation_failed(void);

#endif
