#!/usr/bin/env bash
# Builds the puzzle fuzzers with clang++ (libFuzzer + ASan + UBSan) straight from the sources and
# runs them for a bounded time; a crash or sanitizer report fails.
#   fuzz_smoke.sh build OUT_DIR SOURCE_ROOT       compile all fuzzers into OUT_DIR
#   fuzz_smoke.sh run OUT_DIR NAME SECONDS DATA    run OUT_DIR/NAME on a seed corpus
# Longer runs by hand: fuzz_smoke.sh build /tmp/f . && /tmp/f/maze_fuzzer -max_total_time=600
set -euo pipefail
mode="$1"
out="$2"
CXX="${CLANGXX:-clang++}"
if ! command -v "$CXX" > /dev/null; then
  echo "clang++ not found: fuzzers not built (install clang and libFuzzer)"
  exit 0
fi
if [ "$mode" = build ]; then
  root="$3"
  mkdir -p "$out/obj"
  flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -I"$root" -fsanitize=address,undefined
         -fno-sanitize-recover=undefined)
  lib=(sudoku sudoku_solver maze maze_solver arc arc_augment arc_json npy puzzle_file)
  # Objects from an earlier build are removed first: a source that no longer exists must fail
  # the build, not link its stale object.
  rm -f "$out/obj/"*.o
  objs=()
  pids=()
  for s in "${lib[@]}"; do
    "$CXX" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$root/puzzle/$s.cc" -o "$out/obj/$s.o" &
    objs+=("$out/obj/$s.o")
    pids+=($!)
    # Two at a time: the machine is shared.
    if [ ${#pids[@]} -eq 2 ]; then
      for p in "${pids[@]}"; do wait "$p"; done
      pids=()
    fi
  done
  # A bare `wait` returns 0 whatever its jobs returned; waiting on each pid under set -e fails the
  # build on the first compile error.
  for p in "${pids[@]}"; do wait "$p"; done
  for f in sudoku maze arc_json npy; do
    "$CXX" "${flags[@]}" -fsanitize=fuzzer "$root/puzzle/fuzz/${f}_fuzzer.cc" "${objs[@]}" \
      -o "$out/${f}_fuzzer"
  done
  echo "built fuzzers in $out"
  exit 0
fi
name="$3"
seconds="$4"
data="$5"  # tests/data
if [ ! -x "$out/$name" ]; then
  echo "$out/$name was not built"
  exit 1
fi
corpus="$out/corpus_$name"
rm -rf "$corpus" && mkdir -p "$corpus"
case "$name" in
  sudoku_fuzzer)
    sed -n 3,6p "$data/sudoku/generated_hard.txt" | split -l 1 - "$corpus/seed_" ;;
  maze_fuzzer)
    printf '#######\n#S   G#\n# ### #\n#     #\n#######\n' > "$corpus/seed_maze"
    printf 'SoG\n' > "$corpus/seed_path" ;;
  arc_json_fuzzer)
    printf '{"t": {"train": [{"input": [[1, 2], [3, 4]], "output": [[4]]}], "test": [{"input": [[0]]}]}}' \
      > "$corpus/seed_task"
    printf '[[0, 1, 2], [3, 4, 5]]' > "$corpus/seed_grid" ;;
  npy_fuzzer)
    /usr/bin/python3 -c "import numpy as np; np.save('$corpus/seed.npy', np.arange(6, dtype=np.int32).reshape(2, 3))" \
      2> /dev/null || true ;;
esac
cd "$out"
"./$name" -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=4096 -print_final_stats=1 \
  "$corpus" 2>&1 | tail -20
exit "${PIPESTATUS[0]}"
