#!/usr/bin/env bash
# Builds the server's request-path fuzzer with clang++ (libFuzzer + ASan + UBSan) straight from
# the sources (protobuf messages generated here with Debian's protoc) and runs it for a bounded
# time on a seed corpus of valid and invalid requests; a crash or sanitizer report fails.
#   fuzz_smoke.sh build OUT_DIR SOURCE_ROOT   compile request_fuzzer into OUT_DIR
#   fuzz_smoke.sh run OUT_DIR SECONDS         run it
# Longer runs by hand: fuzz_smoke.sh build /tmp/rf . && fuzz_smoke.sh run /tmp/rf 600
set -euo pipefail
mode="$1"
out="$2"
CXX="${CLANGXX:-clang++}"
if ! command -v "$CXX" > /dev/null; then
  echo "clang++ not found: request_fuzzer not built (install clang and libFuzzer)"
  exit 0
fi
if [ "$mode" = build ]; then
  root="$3"
  mkdir -p "$out/obj" "$out/gen"
  protoc --proto_path="$root/proto" --cpp_out="$out/gen" "$root/proto/trm/v1/solver.proto"
  flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -I"$root" -I"$out/gen"
         -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  srcs=("$out/gen/trm/v1/solver.pb.cc" "$root/server/request_codec.cc" "$root/engine/engine_types.cc")
  for s in sudoku sudoku_solver maze maze_solver arc; do srcs+=("$root/puzzle/$s.cc"); done
  # Objects from an earlier build are removed first: a source that no longer exists must fail
  # the build, not link its stale object.
  rm -f "$out/obj/"*.o
  objs=()
  pids=()
  for s in "${srcs[@]}"; do
    o="$out/obj/$(basename "$s" .cc).o"
    "$CXX" "${flags[@]}" -fsanitize=fuzzer-no-link -w -c "$s" -o "$o" &
    objs+=("$o")
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
  # shellcheck disable=SC2046
  "$CXX" "${flags[@]}" -fsanitize=fuzzer "$root/server/fuzz/request_fuzzer.cc" "${objs[@]}" \
    $(pkg-config --libs protobuf absl_status absl_statusor absl_strings) -o "$out/request_fuzzer"
  # Seeds: one valid request of each kind and a few bad ones, serialized with protoc.
  mkdir -p "$out/seeds"
  proto=("--proto_path=$root/proto" trm/v1/solver.proto)
  enc() { protoc "${proto[@]}" --encode=trm.v1.SolveRequest > "$out/seeds/$1"; }
  echo 'sudoku: "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"' | enc sudoku
  echo 'sudoku: "5x" options { max_steps: -1 halt_threshold: nan }' | enc sudoku_bad
  echo 'maze { rows: "#####" rows: "#S G#" rows: "#####" }' | enc maze
  echo 'arc { task_id: "00576224" input { rows: 2 cols: 2 cells: [1, 2, 3, 4] } } options { arc_augmentations: 8 arc_attempts: 2 }' | enc arc
  echo 'tokens { tokens: [1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0] puzzle_identifier: 0 } request_id: "r"' | enc tokens
  echo "built request_fuzzer in $out"
  exit 0
fi
seconds="$3"
if [ ! -x "$out/request_fuzzer" ]; then
  echo "$out/request_fuzzer was not built"
  exit 1
fi
corpus="$out/corpus"
rm -rf "$corpus" && mkdir -p "$corpus" && cp "$out/seeds/"* "$corpus/"
cd "$out"
./request_fuzzer -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=8192 -timeout=10 \
  -print_final_stats=1 "$corpus" 2>&1 | tail -20
exit "${PIPESTATUS[0]}"
