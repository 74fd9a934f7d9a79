#!/bin/bash
# rbm train with split = rows against split = hidden on the same job, alternating round by
# round so that this noisy machine's drifts hit both alike; medians of epochs 2 and 3 of 3-epoch
# runs. Run from anywhere after building into build/; prefix env -u OPENBLAS_CORETYPE to let
# OpenBLAS pick its kernels. Extra arguments go to rbm train.
#
#   bench/split_ab.sh ROUNDS THREADS HIDDEN [-s SECTION.KEY=VALUE]...
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=$1 threads=$2 hidden=$3
shift 3
model=$(mktemp --suffix=.npz)
trap 'rm -f "$model"' EXIT
for _ in $(seq "$rounds"); do
  for split in rows hidden; do
    build/rbm train configs/default.ini -s data.limit=42000 -s model.hidden="$hidden" \
      -s train.epochs=3 -s train.threads="$threads" -s train.split="$split" \
      -s output.model="$model" -s output.log= "$@" 2>&1 |
      awk -v v="split=$split" '/^epoch [23]\//{print v, $5}'
  done
done | /usr/bin/python3 bench/epoch_medians.py
