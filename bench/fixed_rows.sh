# Sourced by the side-by-side CPU scripts (cpu_vs_official.sh, fast_vs_reference.sh).
#
#   fixed_rows NAME "LABELS" TRM_BENCH_ARGS...
#
# Runs trm-bench --mode=fixed with TRM_BENCH_ARGS (the binary in $bench) and prints one line per
# batch: NAME BATCH LABELS MS_PER_STEP GFLOP_PER_S, the labels (space-separated words: variant,
# round, load, ...) copied as given, so every script's log parses the same way.
fixed_rows() {
  local name=$1 labels=$2
  shift 2
  "$bench" --mode=fixed "$@" 2>/dev/null | grep '"kind":"fixed"' | while read -r line; do
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(sys.argv[2], r["batch"], sys.argv[3], "%.2f" % r["ms_per_step"], "%.1f" % r["gflop_per_s"])' \
      "$line" "$name" "$labels"
  done
}
