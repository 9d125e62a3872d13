#!/usr/bin/env bash
# The fast CPU ACT step against the libtorch reference on checkpoints, side by side: for each
# round and checkpoint, trm-bench --mode=fixed with --cpu_kernels=auto and then =reference,
# alternating, with the same threads, batches and inputs. Prints one line per run with the
# 1-minute load before it, then per checkpoint and batch the ratio reference / fast of every
# round and their median.
#
#   bench/fast_vs_reference.sh checkpoints/sudoku checkpoints/maze
#
# ROUNDS (default 3), THREADS (2), BATCHES (1,8), STEPS (5 timed steps per run), TRM_BUILD_DIR
# (build).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/fixed_rows.sh
[[ $# -gt 0 ]] || { sed -n '2,11p' "$0" >&2; exit 2; }
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
batches=${BATCHES:-1,8}
bench="${TRM_BUILD_DIR:-build}/bench/trm-bench"
[[ -x $bench ]] || { echo "fast_vs_reference: $bench is missing; run scripts/build.sh" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "# $(date -u '+%F %T UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(nproc) cores, threads $threads, rounds $rounds"
for round in $(seq "$rounds"); do
  for ckpt in "$@"; do
    for k in auto reference; do
      load=$(cut -d' ' -f1 /proc/loadavg)
      fixed_rows "$ckpt" "$k $round $load" --checkpoint="$ckpt" --threads="$threads" \
        --steps="${STEPS:-5}" --warmup_steps=1 --batches="$batches" --cpu_kernels="$k" |
        tee -a "$log"
    done
  done
done

echo
echo "| checkpoint | batch | reference ms/step (median) | fast ms/step (median) | fast GFLOP/s (median) | reference / fast, per round | median |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
python3 - "$log" <<'EOF'
import collections, statistics, sys
ms = collections.defaultdict(dict)  # (checkpoint, batch, kernels) -> round -> ms
gf = collections.defaultdict(list)
for line in open(sys.argv[1]):
    ckpt, batch, kernels, rnd, load, step_ms, gflops = line.split()
    ms[(ckpt, int(batch), kernels)][rnd] = float(step_ms)
    gf[(ckpt, int(batch), kernels)].append(float(gflops))
for (ckpt, batch, kernels), fast in sorted(ms.items()):
    if kernels != "auto":
        continue
    ref = ms.get((ckpt, batch, "reference"), {})
    ratios = [ref[r] / m for r, m in sorted(fast.items()) if r in ref]
    if not ratios:
        continue
    print(f"| {ckpt} | {batch} | {statistics.median(ref.values()):.2f} | "
          f"{statistics.median(fast.values()):.2f} | {statistics.median(gf[(ckpt, batch, 'auto')]):.1f} | "
          f"{', '.join(f'{x:.1f}' for x in ratios)} | **{statistics.median(ratios):.1f}x** |")
EOF
