#!/usr/bin/env bash
# The CPU ACT step against the official code, side by side: for each shape and round, runs the
# official eager evaluation (../shared/anchors/official_speed.py on Debian's python3-torch, the
# same libtorch 1.13 and OpenBLAS trm-bench links) and then trm-bench on the same shape (each
# --cpu_kernels and --dtype asked for), alternating, with the same threads. Prints one line per
# run with the 1-minute load before it, then per shape, batch and variant the ratio
# official / ours of every round and their median.
#
#   TRM_OFFICIAL=/tmp/official bench/cpu_vs_official.sh sudoku:128 sudoku:512 maze:128
#
# TRM_OFFICIAL: a folder holding the official models/ (../shared/anchors/README.md says how to
# get it). ROUNDS (default 3), THREADS (2), BATCHES (1,8), KERNELS ("auto reference"; avx512, avx2 force one), DTYPES
# (trm-bench's, default "float32"; the official run is float32), QUICK=1 for the official
# script's 3 timed steps instead of 16 (the maze shape), TRM_BUILD_DIR (build).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/fixed_rows.sh
: "${TRM_OFFICIAL:?set TRM_OFFICIAL to the folder holding the official models/}"
shapes=("$@")
[[ ${#shapes[@]} -gt 0 ]] || shapes=(sudoku:128)
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
batches=${BATCHES:-1,8}
kernels=${KERNELS:-auto reference}
dtypes=${DTYPES:-float32}
build=${TRM_BUILD_DIR:-build}
anchors=${TRM_SHARED_DIR:-../shared}/anchors
bench="$build/bench/trm-bench"
[[ -x $bench ]] || { echo "cpu_vs_official: $bench is missing; run scripts/build.sh" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "# $(date -u '+%F %T UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(nproc) cores, threads $threads, rounds $rounds"
for shape in "${shapes[@]}"; do
  task=${shape%%:*}
  hidden=${shape##*:}
  shape_args "$shape"
  for round in $(seq "$rounds"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    TRM_OFFICIAL=$TRM_OFFICIAL SIDE="$task:$hidden:$batches" THREADS=$threads \
      /usr/bin/python3 "$anchors/official_speed.py" 2>/dev/null | while read -r line; do
      python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(sys.argv[2], r["batch"], "official", "float32", sys.argv[3], sys.argv[4], "%.1f" % r["ms_per_act_step"])' \
        "$line" "$shape" "$round" "$load"
    done | tee -a "$log"
    for k in $kernels; do
      for dtype in $dtypes; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        fixed_step "$shape" "$k $dtype $round $load" "$k" "$dtype" | tee -a "$log"
      done
    done
  done
done

echo
echo "| shape | batch | ours | official ms/step (median) | ours ms/step (median) | official / ours, per round | median |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
python3 - "$log" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(dict)  # (shape, batch, variant) -> round -> ms
for line in open(sys.argv[1]):
    f = line.split()
    shape, batch, kernels, dtype, rnd, ms = f[0], int(f[1]), f[2], f[3], f[4], float(f[6])
    runs[(shape, batch, kernels if kernels == "official" else f"{kernels} {dtype}")][rnd] = ms
for (shape, batch, variant), by_round in sorted(runs.items()):
    if variant == "official":
        continue
    off = runs.get((shape, batch, "official"), {})
    ratios = [off[r] / ms for r, ms in sorted(by_round.items()) if r in off]
    if not ratios:
        continue
    print(f"| {shape} | {batch} | {variant} | {statistics.median(off.values()):.1f} | "
          f"{statistics.median(by_round.values()):.1f} | {', '.join(f'{x:.2f}' for x in ratios)} | "
          f"**{statistics.median(ratios):.2f}x** |")
EOF
