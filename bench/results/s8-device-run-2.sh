#!/bin/bash
# Session 8, second device run (re-created from the session's transcript; .devpkg/exp/ held the
# binaries): the gradient product at depth 2000 (batch 1000) in variants of src/gemm.c that
# the session tried and did not keep, built into a throwaway harness (gv0 = the kernels of
# commit 16724a2; gv1..gv6 = depth slices of 256/128/64 rows, groups of 8 or 25 row blocks,
# with and without a packed copy of the right operand), then bench_products
set -u
ROOT=$PWD; PKG=$ROOT/.devpkg; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/devlib
python3 -c "import tarfile; tarfile.open('$PKG/lib.tar.xz').extractall('/tmp/devlib')"
export LD_LIBRARY_PATH=/tmp/devlib/lib OPENBLAS_CORETYPE=SkylakeX
LOG=$OUT/exp8.txt; date -u >>$LOG
for round in 1 2 3; do
  for args in "1000 16" "100 2"; do
    for n in 0 1 2 3 4 5 6; do echo "v$n $(timeout 20 $PKG/exp/gv$n $args)" >>$LOG; done
    echo "blas $(timeout 20 $PKG/exp/gv0 $args 1)" >>$LOG
  done
done
for b in 100 1000; do timeout 60 $PKG/exp/bench_products 300 11 $b >>$LOG 2>&1; done
date -u >>$LOG
