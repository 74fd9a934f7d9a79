#!/bin/bash
# Session 13 device run 2: v4 = x86-64-v4 with the sums (the new default), v4d = the same with
# -DRBM_ONES_WITH_AVX512=0 (dense AVX-512 products), v3 = x86-64-v3 (AVX2). The stack's
# features now through rbm's own products. Same bits against the EPYC; v4 against v4d.
set -u
ROOT=$PWD; PKG=$ROOT/.devpkg; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/devlib /tmp/res
exec > >(tee "$OUT/device2.txt") 2>&1
python3 -c "import tarfile; tarfile.open('$PKG/lib.tar.xz').extractall('/tmp/devlib')"
L=/tmp/devlib/lib; unset OPENBLAS_CORETYPE
bin() { if [ -n "${DRY:-}" ]; then echo $PKG/v3; else echo $PKG/$1; fi; }
ROWS=42000; [ -n "${DRY:-}" ] && ROWS=4000
for bb in v3 v4 v4d; do printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s/rbm "$@"\n' $L $(bin $bb) > /tmp/rbm_$bb; chmod +x /tmp/rbm_$bb; done
DATA=$PKG/train-images-idx3-ubyte.gz; CFG=$ROOT/configs/default.ini
COMMON=(-s data.train=$DATA -s output.log= -s output.checkpoint_seconds=0)
T0=$(date +%s)
step() { echo; echo "== $* (+$(( $(date +%s) - T0 )) s)"; }
step facts
date -u; nproc; grep -m1 "model name" /proc/cpuinfo; /tmp/rbm_v4 --version | grep Kernels; /tmp/rbm_v4d --version | grep Kernels
step unit tests v4
for t in test_kernels test_pcg32 test_product-ones test_products test_training; do
  (cd $(bin v4) && timeout 60 env LD_LIBRARY_PATH=$L ./$t >/tmp/t.log 2>&1); rc=$?
  echo "v4 $t rc $rc"; [ $rc = 0 ] || tail -20 /tmp/t.log; done
step bench_ones v4 at 35% and 29% visible ones
timeout 20 env LD_LIBRARY_PATH=$L $(bin v4)/bench_ones 0.35 0.07
timeout 20 env LD_LIBRARY_PATH=$L $(bin v4)/bench_ones 0.29 0.07
step same bits: each shape against the EPYC AVX2 hashes
same=0; diff=0
for b in "v4:1 16" "v4d:1" "v3:1"; do
  timeout 120 $PKG/train_hashes.sh /tmp/rbm_${b%%:*} $DATA ${b#*:} > /tmp/h_${b%%:*}.txt
  while read -r line; do key=${line% | *}; got=${line##* }
    want=$(grep -F -- "$key | " $PKG/expected.txt | head -1); want=${want##* }
    if [ "$got" = "$want" ]; then same=$((same+1)); else diff=$((diff+1)); echo "DIFFERENT ${b%%:*}: $line (EPYC: $want)"; fi
  done < /tmp/h_${b%%:*}.txt
done
echo "same bits: $same same, $diff different"
job() { local bb=$1; shift; local s=$(date +%s.%N)
  timeout 40 /tmp/rbm_$bb train $CFG "${COMMON[@]}" -s data.limit=$ROWS -s output.model=/tmp/job.npz --quiet "$@"; local rc=$?
  echo "  $bb $*: rc $rc, $(python3 -c "import time; print(round(time.time() - $s, 2))") s, $(python3 $PKG/hash.py /tmp/job.npz)"; rm -f /tmp/job.npz; }
step "whole job: 42,000 rows, 10 epochs, loading and saving included; alternating v4 / v4d"
for i in 1 2 3 4; do job v4 -s train.threads=2; job v4d -s train.threads=2; done
step "whole job, 16 threads with 16 strips and chunks of 25 rows"
for i in 1 2; do job v4 -s train.threads=16 -s train.update_strips=16 -s train.chunk_rows=25; job v4d -s train.threads=16 -s train.update_strips=16 -s train.chunk_rows=25; done
step "whole job, bit_counts = true (other bits)"
job v4 -s train.threads=2 -s train.bit_counts=true; job v4 -s train.threads=2
b() { local name=$1 build=$2 limit=$3; shift 3; step "bench $name ($build)"
  timeout $limit /tmp/rbm_$build bench $CFG "${COMMON[@]}" -s data.limit=$ROWS --threads 1,2 --repeats 3 \
    --epochs 1 --sizes $ROWS --csv /tmp/res/$name.csv --plot /tmp/res/$name.svg "$@"; echo "rc $?"
  tar cf $OUT/results2.tar -C /tmp/res .; }
b v4-default v4 90
b v4d-default v4d 90
step done
sleep 1
