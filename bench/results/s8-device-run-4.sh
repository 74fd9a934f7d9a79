#!/bin/bash
# Session 8, fourth device run: trainer epochs at batch 1000, HEAD vs sliced deep gradient vs
# sliced with the right operand packed; builds alternate, epochs 2 and 3 of each run
set -u
ROOT=$PWD; PKG=$ROOT/.devpkg; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/devlib
python3 -c "import tarfile; tarfile.open('$PKG/lib.tar.xz').extractall('/tmp/devlib')"
export LD_LIBRARY_PATH=/tmp/devlib/lib
LOG=$OUT/exp10.txt; date -u >>$LOG
CFG=$ROOT/configs/default.ini
for round in 1 2 3; do for t in 1 2 16; do for v in v4old v4slice v4pack; do
  timeout 20 $PKG/$v/rbm train $CFG -s data.train=$PKG/train-images-idx3-ubyte.gz -s output.log= \
    -s output.checkpoint_seconds=0 -s data.limit=42000 -s train.epochs=3 -s train.batch_size=1000 \
    -s train.chunk_rows=63 -s train.update_strips=16 -s train.threads=$t -s output.model=/tmp/m.npz 2>&1 |
    awk -v v=$v -v t=$t '/^epoch [23]\//{print v, t, $5}' >>$LOG
done; done; done
python3 - "$LOG" <<'PY' >>$LOG
import sys, statistics, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 3 and p[0].startswith('v4'):
        d[(p[1], p[0])].append(float(p[2].rstrip('s')))
for key in sorted(d, key=lambda k: (int(k[0]), k[1])):
    print('threads %s %-8s median %.4f min %.4f n %d' % (key[0], key[1], statistics.median(d[key]), min(d[key]), len(d[key])))
PY
date -u >>$LOG
