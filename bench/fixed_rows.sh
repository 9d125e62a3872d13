# Sourced by the side-by-side CPU scripts (cpu_vs_official.sh, fast_vs_reference.sh, binary_ab.sh).
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

# shape_args SHAPE: sets the array shape_args to trm-bench's flags for SHAPE, either task:hidden
# (the paper's sudoku, L_cycles 6, or the 30x30 maze, L_cycles 4; 2 layers, 3 H_cycles, 8 heads)
# or a checkpoint folder (its own shape).
shape_args() {
  local shape=$1
  if [[ -d $shape ]]; then
    shape_args=(--checkpoint="$shape")
    return
  fi
  local task=${shape%%:*} hidden=${shape##*:}
  if [[ $task == sudoku ]]; then
    shape_args=(--task=sudoku --l_cycles=6)
  else
    shape_args=(--task=maze --maze_side=30 --l_cycles=4)
  fi
  shape_args+=(--hidden="$hidden" --heads=8 --layers=2 --h_cycles=3)
}

# fixed_step NAME "LABELS" KERNELS DTYPE: fixed_rows on the shape shape_args set, with the
# scripts' common settings ($threads, $batches, STEPS timed steps after one warm-up).
fixed_step() {
  fixed_rows "$1" "$2" "${shape_args[@]}" --threads="$threads" --steps="${STEPS:-3}" \
    --warmup_steps=1 --batches="$batches" --cpu_kernels="$3" --dtype="$4"
}
