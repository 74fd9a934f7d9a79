#!/bin/bash
# Session 13 device run: the AVX-512 builds' tests, the sums against the dense AVX-512 products,
# same bits across builds and thread counts, thread scaling. Builds (made on the 2-core EPYC):
# v3 = -march=x86-64-v3 (AVX2, sums), v4 = x86-64-v4 (dense AVX-512), v4s = v4 with
# -DRBM_ONES_WITH_AVX512=1 (AVX-512 dense products where no sums, sums elsewhere).
set -u
ROOT=$PWD; PKG=$ROOT/.devpkg; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/devlib /tmp/res
exec > >(tee "$OUT/device.txt") 2>&1
python3 -c "import tarfile; tarfile.open('$PKG/lib.tar.xz').extractall('/tmp/devlib')"
L=/tmp/devlib/lib; unset OPENBLAS_CORETYPE
r() { LD_LIBRARY_PATH=$L "$@"; }
# DRY=1: a rehearsal on a machine without AVX-512 (every build is v3; 2 threads, fewer rows)
bin() { if [ -n "${DRY:-}" ]; then echo $PKG/v3; else echo $PKG/$1; fi; }
SCALE=1,2,4,8,16; ROWS=42000; [ -n "${DRY:-}" ] && { SCALE=1,2; ROWS=4000; }
for bb in v3 v4 v4s; do printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s/rbm "$@"\n' $L $(bin $bb) > /tmp/rbm_$bb; chmod +x /tmp/rbm_$bb; done
DATA=$PKG/train-images-idx3-ubyte.gz; CFG=$ROOT/configs/default.ini
COMMON=(-s data.train=$DATA -s output.log= -s output.checkpoint_seconds=0)
T0=$(date +%s)
step() { echo; echo "== $* (+$(( $(date +%s) - T0 )) s)"; }
step facts
date -u; nproc; free -g | head -2
lscpu | grep -i "model name\|family\|^model\|cache\|socket\|core\|thread\|numa\|mhz"
for f in avx512f avx512bw avx512vl avx512_bf16 avx512_vpopcntdq amx_bf16 avx512_vnni; do
  grep -q -w $f /proc/cpuinfo && echo "flag $f yes" || echo "flag $f no"; done
/tmp/rbm_v4s --version
step unit tests
for b in v4 v4s v3; do for t in test_kernels test_pcg32 test_product-ones test_products test_training test_pcg32_cpp; do
  (cd $(bin $b) && timeout 60 env LD_LIBRARY_PATH=$L ./$t >/tmp/t.log 2>&1); rc=$?
  echo "$b $t rc $rc"; [ $rc = 0 ] || tail -20 /tmp/t.log; done; done
step bench_ones, one core
for b in v4s v3; do echo "-- $b"; timeout 20 env LD_LIBRARY_PATH=$L $(bin $b)/bench_ones; timeout 20 env LD_LIBRARY_PATH=$L $(bin $b)/bench_ones 0.5 0.5; done
echo "-- v4s bench_products 300 11 100"; timeout 30 env LD_LIBRARY_PATH=$L $(bin v4s)/bench_products 300 11 100
step same bits: each shape, builds v4s v4 v3, threads 1 3 16 against the EPYC AVX2 hashes
same=0; diff=0
for b in "v4s:1 3 16" "v4:1 16" "v3:1 16"; do
  timeout 120 $PKG/train_hashes.sh /tmp/rbm_${b%%:*} $DATA ${b#*:} > /tmp/h_${b%%:*}.txt
  while read -r line; do key=${line% | *}; got=${line##* }
    want=$(grep -F -- "$key | " $PKG/expected.txt | head -1); want=${want##* }
    if [ "$got" = "$want" ]; then same=$((same+1)); else diff=$((diff+1)); echo "DIFFERENT ${b%%:*}: $line (EPYC: $want)"; fi
  done < /tmp/h_${b%%:*}.txt
done
echo "same bits: $same same, $diff different"
b() { local name=$1 build=$2 threads=$3 sizes=$4 limit=$5; shift 5; step "bench $name ($build, threads $threads)"
  timeout $limit /tmp/rbm_$build bench $CFG "${COMMON[@]}" -s data.limit=$ROWS \
    --threads $threads --repeats 3 --epochs 1 --sizes $sizes --csv /tmp/res/$name.csv \
    --plot /tmp/res/$name.svg "$@"; echo "rc $?"; tar cf $OUT/results.tar -C /tmp/res .; }
b v4s-default v4s $SCALE $ROWS 70
b v4-default v4 1,2 $ROWS 40
b v3-default v3 1,2 $ROWS 40
b v4s-strips16-chunk25 v4s $SCALE 2000,$ROWS 80 -s train.update_strips=16 -s train.chunk_rows=25
b v4s-batch1000-strips16 v4s $SCALE 2000,$ROWS 80 -s train.batch_size=1000 -s train.chunk_rows=63 -s train.update_strips=16
step whole job: 42,000 rows, 10 epochs, loading and saving included
for run in v4s:2 v4:2 v3:2 v4s:16 v4s:0 v4s:2 v4:2; do bb=${run%%:*}; t=${run#*:}
  s=$(date +%s.%N); timeout 40 /tmp/rbm_$bb train $CFG "${COMMON[@]}" -s data.limit=$ROWS \
    -s train.threads=$t -s output.model=/tmp/job.npz --quiet; rc=$?
  echo "  $bb threads=$t: rc $rc, $(python3 -c "import time; print(round(time.time() - $s, 2))") s, $(python3 $PKG/hash.py /tmp/job.npz)"; rm -f /tmp/job.npz; done
step profile v4s, 2 epochs
timeout 30 /tmp/rbm_v4s train $CFG "${COMMON[@]}" -s data.limit=$ROWS -s train.epochs=2 -s train.threads=2 -s output.model=/tmp/p.npz --quiet --profile
timeout 30 /tmp/rbm_v4s train $CFG "${COMMON[@]}" -s data.limit=$ROWS -s train.epochs=2 -s train.threads=16 -s train.update_strips=16 -s train.chunk_rows=25 -s output.model=/tmp/p.npz --quiet --profile
tar cf $OUT/results.tar -C /tmp/res .
step done
sleep 1
