#!/bin/bash
# A/B of two or more builds of librbm on the same job, alternating them round by round so that
# this noisy machine's drifts hit all alike. Each VARIANT is a folder holding a librbm.so.0
# (copy build/librbm.so.0 there after building each version); build/rbm loads it through
# LD_LIBRARY_PATH, so the builds must accept the same config keys and settings layout as build/rbm.
# Prints the median and minimum of the epoch seconds (epochs 2 and 3 of each
# 3-epoch run) per variant.
#
#   bench/ab.sh ROUNDS THREADS VARIANT_DIR... [-- extra rbm train arguments]
#   e.g. bench/ab.sh 12 2 /tmp/ab/before /tmp/ab/after -- -s model.hidden=500
set -euo pipefail
rounds=$1 threads=$2
shift 2
variants=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do variants+=("$(realpath "$1")"); shift; done
cd "$(dirname "$0")/.."
[ $# -gt 0 ] && shift
model=$(mktemp --suffix=.npz)
trap 'rm -f "$model"' EXIT
for _ in $(seq "$rounds"); do
  for variant in "${variants[@]}"; do
    LD_LIBRARY_PATH=$variant build/rbm train configs/default.ini -s data.limit=42000 \
      -s train.epochs=3 -s train.threads="$threads" -s output.model="$model" -s output.log= \
      "$@" 2>&1 | awk -v v="$variant" '/^epoch [23]\//{print v, $5}'
  done
done | /usr/bin/python3 bench/epoch_medians.py
