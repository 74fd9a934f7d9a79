/* How many OpenBLAS buffer allocations went through rbm's lock (tests check it is not 0). */
#ifndef RBM_BLAS_GUARD_H
#define RBM_BLAS_GUARD_H
long rbm_blas_guarded_calls(void);
#endif
