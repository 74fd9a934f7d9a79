#!/bin/bash
# rbm train with one config key at two values on the same job, alternating round by round so
# that this noisy machine's drifts hit both alike; medians of epochs 2 and 3 of 3-epoch runs.
# Run from anywhere after building into build/; prefix env -u OPENBLAS_CORETYPE to let OpenBLAS
# pick its kernels. Extra arguments go to rbm train.
#
#   bench/option_ab.sh ROUNDS THREADS HIDDEN SECTION.KEY VALUE_A VALUE_B [-s SECTION.KEY=VALUE]...
#   e.g. bench/option_ab.sh 5 2 300 train.bit_counts false true -s train.split=hidden
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=$1 threads=$2 hidden=$3 key=$4 first=$5 second=$6
shift 6
model=$(mktemp --suffix=.npz)
trap 'rm -f "$model"' EXIT
for _ in $(seq "$rounds"); do
  for value in "$first" "$second"; do
    build/rbm train configs/default.ini -s data.limit=42000 -s model.hidden="$hidden" \
      -s train.epochs=3 -s train.threads="$threads" -s "$key=$value" \
      -s output.model="$model" -s output.log= "$@" 2>&1 |
      awk -v v="$key=$value" '/^epoch [23]\//{print v, $5}'
  done
done | /usr/bin/python3 bench/epoch_medians.py
