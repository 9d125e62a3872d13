#!/usr/bin/env bash
# Where the fast CPU step spends its time, op by op (trm-bench --mode=profile), on every shape
# issue 19 names: the bundled checkpoints, the paper's sudoku shape at hidden 128 and 512 and the
# 30x30 maze at hidden 128 (the last two in float32 and bfloat16), batches 1 and 8. Prints the
# 1-minute load before each run, then trm-bench's header (the cores' measured peak) and tables.
#
#   bench/profile_all.sh > profile.log
#
# THREADS (default 2), BATCHES (1,8), TRM_BUILD_DIR (build). bench/profile_official_step.py
# gives the official code's profile of the same shapes.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-2}
batches=${BATCHES:-1,8}
bench="${TRM_BUILD_DIR:-build}/bench/trm-bench"
[[ -x $bench ]] || { echo "profile_all: $bench is missing; run scripts/build.sh" >&2; exit 1; }

run() {
  local name=$1
  shift
  echo "== $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg): $name"
  "$bench" --threads="$threads" --mode=profile --batches="$batches" "$@"
}

for checkpoint in checkpoints/sudoku checkpoints/maze; do
  run "$checkpoint" --checkpoint="$checkpoint" --steps=8
done
run "sudoku 128" --task=sudoku --hidden=128 --heads=8 --steps=20
for dtype in float32 bfloat16; do
  run "sudoku 512 $dtype" --task=sudoku --hidden=512 --heads=8 --dtype="$dtype" --steps=6
  run "maze 128 $dtype" --task=maze --hidden=128 --heads=8 --l_cycles=4 --dtype="$dtype" --steps=4
done
