#!/bin/bash
# Session 8, third device run (re-created from the session's transcript): the throwaway
# harness with the trainer's operand layouts (w0 = commit 16724a2's kernels, w1 = depth
# slices of 128 rows in groups of 8 row blocks x 4 panels, w2, w4, w5 other slice and group
# sizes), then `rbm bench` at batch 1000 for the build of 16724a2 (v4old) and the sliced
# deep gradient without the packed copy (v4), alternating
set -u
ROOT=$PWD; PKG=$ROOT/.devpkg; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/devlib
python3 -c "import tarfile; tarfile.open('$PKG/lib.tar.xz').extractall('/tmp/devlib')"
export LD_LIBRARY_PATH=/tmp/devlib/lib
LOG=$OUT/exp9.txt; date -u >>$LOG
for round in 1 2; do
  for args in "1000 16 0" "1000 16 1" "100 2 0"; do
    for n in 0 1 2 4 5; do echo "w$n $(timeout 20 $PKG/exp2/hv$n $args)" >>$LOG; done
    echo "blas $(OPENBLAS_CORETYPE=SkylakeX timeout 20 $PKG/exp2/hv0 $args 1)" >>$LOG
  done
done
CFG=$ROOT/configs/default.ini
COMMON="-s data.train=$PKG/train-images-idx3-ubyte.gz -s output.log= -s output.checkpoint_seconds=0"
for round in 1 2; do for v in v4old v4; do
  echo "== $v round $round $(date -u +%T)" >>$LOG
  timeout 80 $PKG/$v/rbm bench $CFG $COMMON -s data.limit=42000 -s train.batch_size=1000 -s train.chunk_rows=63 \
    -s train.update_strips=16 --threads 1,2,16 --repeats 3 --epochs 1 --sizes 42000 --csv /tmp/b.csv --plot /tmp/b.svg >>$LOG 2>&1
done; done
date -u >>$LOG
