#!/bin/bash
# Session 13 device run 3: the final AVX-512 build (v4: sums, forward sums up to a 0.32 mean)
# side by side with NumPy and PyTorch on 2 and 16 threads (the peers of ../shared/bench/peers,
# with the device's own pip numpy and torch), rounds alternating; and its same bits.
set -u
ROOT=$PWD; PKG=$ROOT/.devpkg; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/devlib
exec > >(tee "$OUT/device3.txt") 2>&1
PY=${PY:-python3}
$PY -c "import tarfile; tarfile.open('$PKG/lib.tar.xz').extractall('/tmp/devlib')"
L=/tmp/devlib/lib; unset OPENBLAS_CORETYPE
bin() { if [ -n "${DRY:-}" ]; then echo $PKG/v3; else echo $PKG/$1; fi; }
printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s/rbm "$@"\n' $L $(bin v4) > /tmp/rbm_v4; chmod +x /tmp/rbm_v4
DATA=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
[ -f $DATA ] || { mkdir -p $(dirname $DATA) && cp $PKG/train-images-idx3-ubyte.gz $DATA; }
CFG=$ROOT/configs/default.ini; EPOCHS=3; [ -n "${DRY:-}" ] && EPOCHS=1
T0=$(date +%s)
step() { echo; echo "== $* (+$(( $(date +%s) - T0 )) s)"; }
step facts
date -u; nproc; /tmp/rbm_v4 --version | grep -i 'kernels\|openblas:'
$PY -c "import numpy, sys; print('numpy', numpy.__version__, sys.version.split()[0])"; numpy_config=$($PY -c "import numpy; numpy.show_config()" 2>&1 | grep -i -A3 'blas' | head -8); echo "$numpy_config"
$PY -c "import torch; print('torch', torch.__version__, torch.backends.mkldnn.is_available())" 2>&1 | tail -1
step same bits, final v4, threads 1 and 16
grep -e 'split=hidden$' -e 'layers' -e 'split=rows -s train.chunk_rows=50' $PKG/shapes.txt > /tmp/shapes3.txt
cp $PKG/shapes.txt /tmp/shapes_all.txt; cp /tmp/shapes3.txt $PKG/shapes.txt
timeout 60 $PKG/train_hashes.sh /tmp/rbm_v4 $DATA 1 16 > /tmp/h3.txt; cp /tmp/shapes_all.txt $PKG/shapes.txt
while read -r line; do key=${line% | *}; got=${line##* }; want=$(grep -F -- "$key | " $PKG/expected.txt | head -1)
  [ "$got" = "${want##* }" ] && echo "same: $line" || echo "DIFFERENT: $line (EPYC: ${want##* })"; done < /tmp/h3.txt
rbm() { local t=$1; shift; timeout 60 /tmp/rbm_v4 train $CFG -s data.limit=42000 -s train.epochs=$EPOCHS \
  -s train.threads=$t -s output.model=/tmp/m.npz -s output.log=/tmp/log.jsonl -s output.checkpoint_seconds=0 --quiet "$@" &&
  echo "RESULT rbm $t threads $*: $($PY -c "import json; print([round(json.loads(l)['seconds'], 4) for l in open('/tmp/log.jsonl')])")"; }
peer() { local t=$1 script=$2; shift 2
  r=$(cd $PKG/peers && OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t MKL_NUM_THREADS=$t timeout 90 $PY $script --hidden 300 --epochs $EPOCHS "$@" 2>&1 | grep '^RESULT' | head -1)
  echo "RESULT $script $t threads: $($PY -c "import json, sys; print([round(x, 4) for x in json.loads(sys.argv[1][7:])['epoch_s']])" "$r" 2>&1 | tail -1)"; }
for round in 1 2 3; do
  step "round $round"
  rbm 2; rbm 16 -s train.update_strips=16 -s train.chunk_rows=25
  peer 16 rbm_numpy.py --dtype float32; peer 2 rbm_numpy.py --dtype float32
  peer 16 rbm_torch.py --threads 16; peer 2 rbm_torch.py --threads 2
done
step done
sleep 1
