#!/bin/bash
# usage: train_hashes.sh RBM DATA THREADS...   one line per shape and thread count: hash
rbm=$1; data=$2; shift 2
cfg=$(dirname "$0")/../configs/default.ini
while IFS='|' read -r limit shape; do
  for t in "$@"; do
    # shellcheck disable=SC2086
    timeout 60 "$rbm" train "$cfg" --quiet -s data.train=$data -s data.limit=$limit -s train.epochs=2 \
      -s output.log= -s output.checkpoint_seconds=0 -s train.threads=$t -s output.model=/tmp/th.npz $shape \
      >/tmp/th.err 2>&1 || { echo "$limit $shape | t=$t FAILED $(head -c 300 /tmp/th.err)"; continue; }
    echo "$limit $shape | t=$t $(python3 "$(dirname "$0")/hash.py" /tmp/th.npz)"
    rm -f /tmp/th.npz
  done
done < "$(dirname "$0")/shapes.txt"
