#!/bin/bash
# rbm train with split = rows against split = hidden (bench/option_ab.sh, which see).
#
#   bench/split_ab.sh ROUNDS THREADS HIDDEN [-s SECTION.KEY=VALUE]...
set -euo pipefail
exec "$(dirname "$0")/option_ab.sh" "$1" "$2" "$3" train.split rows hidden "${@:4}"
