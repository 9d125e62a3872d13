#!/usr/bin/env bash
# Two trm-bench binaries side by side (a commit's and the one before it): for each shape, round
# and kernel set, runs A then B on the same fixed shape (trm-bench --mode=fixed), alternating so
# that load drifts hit both alike, and prints every run, then per shape, batch and kernels the
# median ms per step of each and the ratio A / B (above 1: B is faster).
#
#   cp build/bench/trm-bench /tmp/trm-bench-before   # before the change, then rebuild
#   bench/binary_ab.sh /tmp/trm-bench-before build/bench/trm-bench maze:128 sudoku:512
#
# A shape is task:hidden (cpu_vs_official.sh's synthetic shapes) or a checkpoint folder
# (bench/fixed_rows.sh's shape_args).
# ROUNDS (default 5), THREADS (2), BATCHES (1,8), KERNELS ("avx512 avx2"), DTYPES ("float32"),
# STEPS (3 timed steps after 1 warm-up per run; small shapes want more).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/fixed_rows.sh
[[ $# -ge 3 ]] || { echo "usage: $0 BENCH_A BENCH_B SHAPE..." >&2; exit 2; }
bench_a=$1 bench_b=$2
shift 2
for b in "$bench_a" "$bench_b"; do [[ -x $b ]] || { echo "binary_ab: $b is not executable" >&2; exit 1; }; done
rounds=${ROUNDS:-5}
threads=${THREADS:-2}
batches=${BATCHES:-1,8}
kernels=${KERNELS:-avx512 avx2}
dtypes=${DTYPES:-float32}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "# $(date -u '+%F %T UTC'), $(nproc) cores, threads $threads, rounds $rounds;" \
  "A=$bench_a B=$bench_b"
for shape in "$@"; do
  shape_args "$shape"
  for round in $(seq "$rounds"); do
    for k in $kernels; do
      for dtype in $dtypes; do
        for side in A B; do
          if [[ $side == A ]]; then bench=$bench_a; else bench=$bench_b; fi
          load=$(cut -d' ' -f1 /proc/loadavg)
          fixed_step "$shape" "$side $k $dtype $round $load" "$k" "$dtype" | tee -a "$log"
        done
      done
    done
  done
done

echo
echo "| shape | batch | kernels | dtype | A ms/step | B ms/step | A / B |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
python3 - "$log" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    shape, batch, side, k, dtype, _round, _load, ms, _gflops = line.split()
    runs[(shape, int(batch), k, dtype, side)].append(float(ms))
for key in sorted({k[:4] for k in runs}):
    a = statistics.median(runs[key + ("A",)])
    b = statistics.median(runs[key + ("B",)])
    print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {a:.2f} | {b:.2f} | {a / b:.3f} |")
PY
