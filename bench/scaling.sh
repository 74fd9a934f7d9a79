#!/bin/bash
# Thread scaling on a many-core machine (BENCHMARKS.md, "Session 3"): the same parameter bytes
# at 1 to 16 threads, then `rbm bench` for four shapes of work unit at 1, 2, 4, 8, 16 threads
# (the last with split = hidden), then the whole job (10 epochs, loading included) at 2 and
# 16 threads. The same-bits check covers split = hidden with bit_counts too.
# usage: [PYTHON=python3] bench/scaling.sh [RBM [DATA [OUTDIR]]]   (PYTHON needs NumPy)
set -u
here=$(cd "$(dirname "$0")" && pwd)
rbm=${1:-$here/../build/rbm}
data=${2:-/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz}
out=${3:-scaling}
config=$here/../configs/default.ini
python=${PYTHON:-python3}
common=(-s "data.train=$data" -s output.log= -s output.checkpoint_seconds=0)
mkdir -p "$out"
"$rbm" --version

echo "same bits at every thread count (5000 rows, 2 epochs): sha256 of the parameters"
for shape in "train.chunk_rows=50" "train.chunk_rows=25 -s train.update_strips=16" \
             "train.split=hidden -s train.update_strips=16 -s train.bit_counts=true"; do
  for threads in 1 2 3 4 7 8 16; do
    # shellcheck disable=SC2086 # $shape holds two words on purpose
    "$rbm" train "$config" "${common[@]}" -s data.limit=5000 -s train.epochs=2 -s $shape \
      -s "train.threads=$threads" -s "output.model=$out/same.npz" --quiet || exit 1
    hash=$("$python" -c "import hashlib, numpy as np; m = np.load('$out/same.npz')
print(hashlib.sha256(b''.join(m[k].tobytes()
      for k in ('weights', 'hidden_bias', 'visible_bias'))).hexdigest()[:16])") || exit 1
    echo "  $shape, $threads threads: $hash"
    [ "$threads" = 1 ] && first=$hash
    [ "$hash" = "$first" ] || { echo "DIFFERENT from 1 thread"; exit 1; }
  done
done

run_bench() {  # name, overrides...
  local name=$1; shift
  echo "bench $name"
  "$rbm" bench "$config" "${common[@]}" -s data.limit=42000 --threads 1,2,4,8,16 --repeats 3 \
    --epochs 1 --sizes 10000,42000 --csv "$out/$name.csv" --plot "$out/$name.svg" "$@"
}
run_bench h300-default
run_bench h300-batch1000-chunk63-strips16 -s train.batch_size=1000 -s train.chunk_rows=63 \
  -s train.update_strips=16
run_bench h300-chunk25-strips16 -s train.chunk_rows=25 -s train.update_strips=16
run_bench h300-hidden-batch1000-strips16 -s train.split=hidden -s train.batch_size=1000 \
  -s train.chunk_rows=63 -s train.update_strips=16

echo "whole job (10 epochs, 42,000 rows, loading and saving included)"
for threads in 2 16; do
  start=$(date +%s.%N)
  "$rbm" train "$config" "${common[@]}" -s data.limit=42000 -s "train.threads=$threads" \
    -s "output.model=$out/job.npz" --quiet || exit 1
  echo "  $threads threads: $("$python" -c "print(round($(date +%s.%N) - $start, 2))") s"
done
