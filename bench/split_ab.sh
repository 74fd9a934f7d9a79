#!/bin/bash
# The model-parallel experiment (bench/model_parallel.c) against rbm train on the same job,
# alternating round by round; medians of epochs 2 and 3 of 3-epoch runs. Run from anywhere,
# after building into build/; prefix env -u OPENBLAS_CORETYPE to let OpenBLAS pick its kernels.
#
#   bench/split_ab.sh ROUNDS THREADS HIDDEN
set -euo pipefail
cd "$(dirname "$0")/.."
model=$(mktemp --suffix=.npz)
trap 'rm -f "$model"' EXIT
for _ in $(seq "$1"); do
  build/bench/bench_model_parallel "$3" "$2" 3 2 |
    awk '/^epoch [23]/{print "model-parallel", $3}'
  build/rbm train configs/default.ini -s data.limit=42000 -s model.hidden="$3" \
    -s train.epochs=3 -s train.threads="$2" -s output.model="$model" -s output.log= 2>&1 |
    awk '/^epoch [23]\//{print "trainer", $5}'
done | /usr/bin/python3 -c '
import collections, statistics, sys
seconds = collections.defaultdict(list)
for line in sys.stdin:
    variant, value = line.split()
    seconds[variant].append(float(value))
for variant, values in seconds.items():
    print(f"{variant} median {statistics.median(values):.4f} n={len(values)} min {min(values):.4f}")
'
