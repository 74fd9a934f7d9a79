#!/bin/bash
# Same bits across builds: trains each shape (3,000 Fashion-MNIST images, 2 epochs) at 1, 2
# and 3 threads with two builds and compares the parameters' hashes. A change to the training
# path that must not change the arithmetic (a faster kernel, a new layout) keeps every line
# "same". Usage: bench/same_bits.sh OLD_BUILD_DIR NEW_BUILD_DIR
[ $# -eq 2 ] && [ -x "$1/rbm" ] && [ -x "$2/rbm" ] ||
  { echo "usage: bench/same_bits.sh OLD_BUILD_DIR NEW_BUILD_DIR (each holding a built rbm)" >&2; exit 2; }
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
shapes=(
  ""
  "-s train.cd_steps=3"
  "-s train.persistent=true"
  "-s train.persistent=true -s train.cd_steps=2"
  "-s model.hidden=500"
  "-s model.hidden=301 -s train.update_strips=3"
  "-s train.update_strips=16"
  "-s train.batch_size=64"
  "-s train.batch_size=130"
  "-s train.batch_size=600"
  "-s train.sparsity_cost=0.1 -s train.weight_decay=0.001"
  "-s train.shuffle=true -s train.momentum_switch_epoch=1"
  "-s model.visible_bias_init=data"
  "-s model.layers=784,200,50"
)
fail=0
for shape in "${shapes[@]}"; do
  for t in 1 2 3; do
    line="[$shape] t=$t:"
    hashes=()
    for b in "$1" "$2"; do
      env -u OPENBLAS_CORETYPE $b/rbm train configs/default.ini --quiet -s data.limit=3000 -s train.epochs=2 -s output.log= -s output.checkpoint_seconds=0 -s train.threads=$t -s output.model=$tmp/sb.npz $shape 2>$tmp/sb.err || { echo "$line FAILED $(cat $tmp/sb.err)"; fail=1; }
      h=$(/usr/bin/python3 -c "
import zipfile,hashlib
z=zipfile.ZipFile('$tmp/sb.npz'); print(hashlib.sha256(b''.join(z.read(n) for n in sorted(z.namelist()) if n.startswith(('weights','hidden_bias','visible_bias','layer')))).hexdigest()[:16])")
      hashes+=($h)
    done
    if [ "${hashes[0]}" == "${hashes[1]}" ]; then echo "$line same ${hashes[0]}"; else echo "$line DIFFERENT ${hashes[*]}"; fail=1; fi
  done
done
exit $fail
