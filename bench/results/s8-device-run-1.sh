#!/bin/bash
# Session 8 device run: bench/scaling.sh's steps with the own AVX-512 products, each under a
# time limit, most important first; plus bench_products per core and two 16-thread profiles.
set -u
ROOT=$PWD; PKG=$ROOT/.devpkg; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/devlib /tmp/svg
python3 -c "import tarfile; tarfile.open('$PKG/lib.tar.xz').extractall('/tmp/devlib')"
export LD_LIBRARY_PATH=/tmp/devlib/lib; unset OPENBLAS_CORETYPE
V=v3; grep -q avx512bw /proc/cpuinfo && V=v4; RBM=$PKG/$V/rbm
CFG=$ROOT/configs/default.ini
COMMON="-s data.train=$PKG/train-images-idx3-ubyte.gz -s output.log= -s output.checkpoint_seconds=0"
LOG=$OUT/scaling8.txt
{ date -u; echo "build $V"; grep -m1 "model name" /proc/cpuinfo; nproc; grep -m1 -o "avx512[a-z_0-9]*" /proc/cpuinfo | head -1
  lscpu 2>/dev/null | grep -i "model\|family\|cache\|socket\|core\|numa"; $RBM --version; } >>"$LOG" 2>&1
b() { local name=$1 limit=$2; shift 2
  echo "== bench $name $(date -u +%T)" >>"$LOG"
  timeout $limit $RBM bench $CFG $COMMON -s data.limit=42000 --threads 1,2,4,8,16 --repeats 3 \
    --epochs 1 --sizes 10000,42000 --csv $OUT/$name.csv --plot /tmp/svg/$name.svg "$@" >>"$LOG" 2>&1
  echo "rc $? $(date -u +%T)" >>"$LOG"; }
b h300-batch1000-chunk63-strips16 110 -s train.batch_size=1000 -s train.chunk_rows=63 -s train.update_strips=16
b h300-default 110
echo "== same bits (5000 rows, 2 epochs) $(date -u +%T)" >>"$LOG"
for shape in "train.chunk_rows=50" "train.chunk_rows=25 -s train.update_strips=16" \
             "train.split=hidden -s train.update_strips=16 -s train.bit_counts=true"; do
  first=
  for t in 1 2 3 4 7 8 16; do
    timeout 20 $RBM train $CFG $COMMON -s data.limit=5000 -s train.epochs=2 -s $shape -s train.threads=$t \
      -s output.model=/tmp/same.npz --quiet >>"$LOG" 2>&1 || echo "rc $? at $t threads" >>"$LOG"
    h=$(python3 -c "import hashlib, zipfile; z = zipfile.ZipFile('/tmp/same.npz')
print(hashlib.sha256(b''.join(z.read(k + '.npy') for k in ('weights','hidden_bias','visible_bias'))).hexdigest()[:16])")
    [ -z "$first" ] && first=$h; s=same; [ "$h" = "$first" ] || s=DIFFERENT
    echo "  $shape, $t threads: $h $s" >>"$LOG"; rm -f /tmp/same.npz
  done
done
echo "== bench_products (one core) $(date -u +%T)" >>"$LOG"
timeout 30 $PKG/$V/bench_products >>"$LOG" 2>&1; timeout 30 $PKG/$V/bench_products 500 >>"$LOG" 2>&1
for t in 8 16; do
  echo "== profile batch 1000, $t threads $(date -u +%T)" >>"$OUT/profile8.txt"
  timeout 30 $RBM train $CFG $COMMON -s data.limit=42000 -s train.epochs=2 -s train.batch_size=1000 \
    -s train.chunk_rows=63 -s train.update_strips=16 -s train.threads=$t -s output.model=/tmp/p.npz \
    --quiet --profile >>"$OUT/profile8.txt" 2>&1
done
for t in 2 16 0; do
  s=$(date +%s.%N); timeout 30 $RBM train $CFG $COMMON -s data.limit=42000 -s train.threads=$t -s output.model=/tmp/j.npz --quiet
  echo "whole job, threads=$t: rc $? $(python3 -c "import time;print(round(time.time()-$s,2))") s" >>"$LOG"
done
b h300-hidden-batch1000-strips16 110 -s train.split=hidden -s train.batch_size=1000 -s train.chunk_rows=63 -s train.update_strips=16
b h300-chunk25-strips16 100 -s train.chunk_rows=25 -s train.update_strips=16
tar cf $OUT/svg.tar -C /tmp/svg . 2>/dev/null
echo "== done $(date -u +%T)" >>"$LOG"
