#!/bin/bash
# Thread scaling on a many-core machine (BENCHMARKS.md, "Session 3" and "Session 8"): the same
# parameter bytes at 1 to 16 threads, `rbm bench` for five shapes of work unit at 1, 2, 4, 8
# and 16 threads (the defaults in both splits; split = hidden is the default since session 9),
# each product on one core (bench_products), where
# a 16-thread epoch goes (--profile), and the whole job (10 epochs, loading included) at 2, 16
# and all cores. The same-bits check covers split = hidden with bit_counts, and batches of
# 1000 (the gradient in slices), too.
# usage: bench/scaling.sh [RBM [DATA [OUTDIR]]]
#   (BENCH_PRODUCTS names bench_products; OPENBLAS_CORETYPE=SkylakeX for it where OpenBLAS
#   0.3.21 does not know the CPU, as on the lent Intel machine)
set -u
here=$(cd "$(dirname "$0")" && pwd)
rbm=${1:-$here/../build/rbm}
data=${2:-/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz}
out=${3:-scaling}
bench_products=${BENCH_PRODUCTS:-$here/../build/bench/bench_products}
config=$here/../configs/default.ini
common=(-s "data.train=$data" -s output.log= -s output.checkpoint_seconds=0)
batch1000=(-s train.batch_size=1000 -s train.chunk_rows=63 -s train.update_strips=16)
rows=(-s train.split=rows)
mkdir -p "$out"
"$rbm" --version

echo "same bits at every thread count (5000 rows, 2 epochs): sha256 of the parameters"
# (the hashes cover the .npy members whole, headers included: not comparable with session 3's)
for shape in "train.split=rows" \
             "train.split=rows -s train.chunk_rows=25 -s train.update_strips=16" \
             "train.split=hidden -s train.update_strips=16 -s train.bit_counts=true" \
             "train.split=rows -s train.batch_size=1000 -s train.chunk_rows=63 -s train.update_strips=16"; do
  for threads in 1 2 3 4 7 8 16; do
    # shellcheck disable=SC2086 # $shape holds two words on purpose
    "$rbm" train "$config" "${common[@]}" -s data.limit=5000 -s train.epochs=2 -s $shape \
      -s "train.threads=$threads" -s "output.model=$out/same.npz" --quiet || exit 1
    hash=$(python3 -c "import hashlib, zipfile; z = zipfile.ZipFile('$out/same.npz')
print(hashlib.sha256(b''.join(z.read(k + '.npy')
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
run_bench h300-batch1000-chunk63-strips16 "${rows[@]}" "${batch1000[@]}"
run_bench h300-default
run_bench h300-default-rows "${rows[@]}"
run_bench h300-hidden-batch1000-strips16 -s train.split=hidden "${batch1000[@]}"
run_bench h300-chunk25-strips16 "${rows[@]}" -s train.chunk_rows=25 -s train.update_strips=16

echo "each product on one core (batch 100, then 1000)"
if [ -x "$bench_products" ]; then
  "$bench_products" 300 11 100 && "$bench_products" 300 11 1000 || exit 1
else
  echo "  no $bench_products (build the bench programs, or set BENCH_PRODUCTS)"
fi

for threads in 8 16; do
  echo "profile, batch 1000, $threads threads (2 epochs)"
  "$rbm" train "$config" "${common[@]}" -s data.limit=42000 -s train.epochs=2 "${rows[@]}" "${batch1000[@]}" \
    -s "train.threads=$threads" -s "output.model=$out/profile.npz" --quiet --profile || exit 1
done

echo "whole job (10 epochs, 42,000 rows, loading and saving included; threads = 0: all cores)"
for threads in 2 16 0; do
  start=$(date +%s.%N)
  "$rbm" train "$config" "${common[@]}" -s data.limit=42000 -s "train.threads=$threads" \
    -s "output.model=$out/job.npz" --quiet || exit 1
  echo "  threads = $threads: $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s"
done
