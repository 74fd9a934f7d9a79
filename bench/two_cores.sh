#!/bin/bash
# What the machine's two cores give, beside what rbm's 2 threads make of them: round by round,
#   cpu0, cpu1   the 1-thread job pinned to one core (taskset): how the two cores differ
#   alone        the 1-thread job, unpinned
#   pair         two 1-thread jobs side by side (both jobs' epochs): what sharing the machine
#                costs jobs that share nothing else (memory bandwidth, caches, the host)
#   threads2     the 2-thread job
# then the medians of the epoch seconds (epochs 2 and 3 of each 3-epoch run), and two ratios:
# 2 x alone / pair (the most two threads could gain, if splitting one job cost nothing) and
# alone / threads2 (what rbm's 2 threads gain). Before and after the rounds it prints
# bench_core_to_core's cache-line round trip between CPUs 0 and 1, which the host's placement
# of the vCPUs changes from day to day (BENCHMARKS.md, "Session 9").
#
#   bench/two_cores.sh ROUNDS [-- extra rbm train arguments]
set -euo pipefail
rounds=$1
shift
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
cd "$(dirname "$0")/.."
models=$(mktemp -d)
trap 'rm -rf "$models"' EXIT
job() { # LABEL THREADS MODEL [taskset arguments...]
  local label=$1 threads=$2 model=$3
  shift 3
  ${1+taskset "$@"} build/rbm train configs/default.ini -s data.limit=42000 -s train.epochs=3 \
    -s train.threads="$threads" -s output.model="$models/$model" -s output.log= "${extra[@]}" \
    2>&1 | awk -v v="$label" '/^epoch [23]\//{print v, $5}'
}
extra=("$@")
core_to_core() {
  if [ -x build/bench/bench_core_to_core ]; then build/bench/bench_core_to_core 0 1
  else echo "(no build/bench/bench_core_to_core: build the bench programs)"; fi
}
core_to_core
for _ in $(seq "$rounds"); do
  job cpu0 1 a.npz -c 0
  job cpu1 1 a.npz -c 1
  job alone 1 a.npz
  job pair 1 a.npz & job pair 1 b.npz; wait
  job threads2 2 a.npz
done > "$models/epochs.txt"
core_to_core
/usr/bin/python3 bench/epoch_medians.py < "$models/epochs.txt"
/usr/bin/python3 - "$models/epochs.txt" <<'EOF'
import collections, statistics, sys
seconds = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, value = line.split()
    seconds[label].append(float(value))
median = {label: statistics.median(values) for label, values in seconds.items()}
print(f"two jobs side by side: {2 * median['alone'] / median['pair']:.2f}x the work of one "
      f"(the ceiling for 2 threads)")
print(f"rbm at 2 threads: {median['alone'] / median['threads2']:.2f}x faster than 1 thread")
print(f"cpu1 / cpu0 (pinned, one job): {median['cpu1'] / median['cpu0']:.3f}")
EOF
