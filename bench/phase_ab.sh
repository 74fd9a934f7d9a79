#!/bin/bash
# A/B of two or more builds of librbm, phase by phase and by the host's state. Each round times
# the cache-line round trip between CPUs 0 and 1 (bench_core_to_core), runs every variant's
# `rbm train --profile` (42,000 images, 2 epochs) in turn, and times the round trip again. A
# round is "fast" if both round trips were under 250 ns, "slow" if both were 250 ns or more,
# and "mixed" otherwise: the host moves the two vCPUs of this machine between a ~100 ns and a
# ~470 ns placement within the hour (BENCHMARKS.md, "Session 10"), and what rbm's threads hand
# each other costs more in the slow one ("Session 11"). Prints, per state and variant, the
# median ratio of its training wall time to the first variant's in the same round, and the
# medians of the wall time and of each phase's seconds summed over the workers.
# Each VARIANT is a folder holding a librbm.so.0, as for bench/ab.sh.
#
#   bench/phase_ab.sh ROUNDS THREADS VARIANT_DIR... [-- extra rbm train arguments]
#   e.g. bench/phase_ab.sh 10 2 /tmp/ab/before /tmp/ab/after -- -s model.hidden=500
set -euo pipefail
rounds=$1 threads=$2
shift 2
variants=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do variants+=("$(realpath "$1")"); shift; done
cd "$(dirname "$0")/.."
[ $# -gt 0 ] && shift
[ -x build/bench/bench_core_to_core ] || { echo "build the bench programs first" >&2; exit 1; }
model=$(mktemp --suffix=.npz)
trap 'rm -f "$model"' EXIT
round_trip() { build/bench/bench_core_to_core 0 1 | sed -E 's/.*trip ([0-9]+) ns.*/\1/'; }
for _ in $(seq "$rounds"); do
  before=$(round_trip)
  lines=()
  for variant in "${variants[@]}"; do
    out=$(LD_LIBRARY_PATH=$variant build/rbm train configs/default.ini -s data.limit=42000 \
      -s train.epochs=2 -s train.threads="$threads" -s output.model="$model" -s output.log= \
      --profile "$@" 2>&1)
    # "VARIANT wall=S phase=S ...": the "all workers" table's total seconds
    lines+=("$variant $(echo "$out" | awk '
      /^profile:/ { printf "wall=%s ", $2 }
      /^all workers/ { table = 1; next }
      /^I\/O/ { table = 0 }
      table && /^  [a-z]/ && !/^  phase/ {
        line = $0; sub(/^  /, "", line); split(line, field, /  +/)
        name = field[1]; gsub(/[^a-z]+/, "_", name); printf "%s=%s ", name, field[3] }')")
  done
  after=$(round_trip)
  state=mixed
  [ "$before" -lt 250 ] && [ "$after" -lt 250 ] && state=fast
  [ "$before" -ge 250 ] && [ "$after" -ge 250 ] && state=slow
  for line in "${lines[@]}"; do echo "$state $before $after $line"; done
done | /usr/bin/python3 -c '
import collections, statistics, sys
runs = collections.defaultdict(lambda: collections.defaultdict(list))
ratios = collections.defaultdict(list)  # (state, variant): wall / the first variant'"'"'s wall
first_wall = None
for line in sys.stdin:
    state, before, after, variant, *fields = line.split()
    print(f"{state} ({before} -> {after} ns) {variant}: " + " ".join(fields))
    values = dict(field.split("=") for field in fields)
    for key, value in values.items():
        runs[(state, variant)][key].append(float(value))
    wall = float(values["wall"])
    if variant == sys.argv[1]:
        first_wall = wall
    ratios[(state, variant)].append(wall / first_wall)
print()
for (state, variant), values in sorted(runs.items()):
    print(f"{state} {variant} (n = {len(values['"'"'wall'"'"'])}): wall / first variant'"'"'s in "
          f"the same round {statistics.median(ratios[(state, variant)]):.3f}; medians: " +
          " ".join(f"{key} {statistics.median(v):.3f}" for key, v in values.items()))
' "${variants[0]}"
