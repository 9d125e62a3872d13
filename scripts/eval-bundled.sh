#!/usr/bin/env bash
# Reproduces a bundled model's card figures: held-out puzzles per difficulty band (generated
# here with fixed seeds that training never used: trm-train draws from its run seed 0 stream),
# each scored by trm-eval twice - the paper's fixed-step evaluation of the network on the puzzle as
# given (exact and cell accuracy) and what the server does by default: ACT halting at the
# checkpoint's threshold and with its dihedral views (halting accuracy, halting precision = the
# share of answers the Q head vouches for that are exact, mean ACT steps, accuracy when the Q head
# decides) - then the latency of one request through trm-server and trm-client on this machine.
#
#   scripts/eval-bundled.sh sudoku [CHECKPOINT_DIR]    (default checkpoints/sudoku)
#   scripts/eval-bundled.sh maze   [CHECKPOINT_DIR]    (default checkpoints/maze)
#
# Needs a build (scripts/build.sh). EVAL_N puzzles per band (default 500); THREADS torch threads
# (default 2); TRM_BUILD_DIR (default build). Prints a markdown table; JSON lines go to
# $OUT_DIR (default /tmp/trm-eval-<kind>).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: eval-bundled.sh sudoku|maze [CHECKPOINT_DIR]}
ckpt=${2:-checkpoints/$kind}
build=${TRM_BUILD_DIR:-build}
n=${EVAL_N:-500}
threads=${THREADS:-2}
out=${OUT_DIR:-/tmp/trm-eval-$kind}
shared=${TRM_SHARED_DIR:-../shared}
mkdir -p "$out"
data="$build/puzzle/trm-data"
eval_bin="$build/bench/trm-eval"
for b in "$data" "$eval_bin" "$build/server/trm-server" "$build/client/trm-client"; do
  [[ -x $b ]] || { echo "eval-bundled: $b is missing; run scripts/build.sh" >&2; exit 1; }
done

# One band: NAME FILE. Prints a table row.
score() {
  local name=$1 file=$2 fixed act
  "$eval_bin" --checkpoint "$ckpt" --puzzles "$file" --halting fixed --threads "$threads" \
    --dihedral_views 1 --limit "$n" 2>&1 | grep '^{' >"$out/$name.fixed.json"
  "$eval_bin" --checkpoint "$ckpt" --puzzles "$file" --halting act --threads "$threads" \
    --limit "$n" 2>&1 | grep '^{' >"$out/$name.act.json"
  python3 - "$name" "$out/$name.fixed.json" "$out/$name.act.json" <<'EOF'
import json, sys
name, fixed, act = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
# Precision is undefined when the model vouches for no answer.
precision = f"{100*act['halt_precision']:.1f}%" if act['confident_share'] > 0 else "-"
print(f"| {name} | {fixed['examples']} | {100*fixed['exact_accuracy']:.1f}% | "
      f"{100*fixed['cell_accuracy']:.2f}% | {100*act['exact_accuracy']:.1f}% | "
      f"{100*act['halt_accuracy']:.1f}% | {precision} | "
      f"{act['mean_steps']:.2f} |")
EOF
}

gen() {  # NAME SEED generator-args...: writes $out/NAME.txt
  local name=$1 seed=$2
  shift 2
  [[ -s $out/$name.txt ]] || "$data" generate "$kind" --count "$n" --seed "$seed" "$@" >"$out/$name.txt"
  echo "$out/$name.txt"
}

echo "| band | puzzles | exact (fixed steps) | cells (fixed) | exact (ACT) | halting accuracy | halting precision | mean ACT steps |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
if [[ $kind == sudoku ]]; then
  score "givens 50-56 (easy)" "$(gen easy 9101 --min_givens 50 --max_givens 56)"
  score "givens 42-49 (medium)" "$(gen medium 9102 --min_givens 42 --max_givens 49)"
  score "givens 34-41 (hard)" "$(gen hard 9103 --min_givens 34 --max_givens 41)"
  score "givens 28-33 (harder than training)" "$(gen harder 9104 --min_givens 28 --max_givens 33)"
  score "rating: 0 solver guesses" "$(gen guess0 9105 --min_givens 30 --max_givens 40 --max_guesses 0)"
  score "rating: 1-3 solver guesses" "$(gen guess1 9106 --min_givens 30 --max_givens 40 --min_guesses 1 --max_guesses 3)"
  score "rating: 4+ solver guesses" "$(gen guess4 9107 --min_givens 24 --max_givens 40 --min_guesses 4)"
  for f in puzzles3_magictour_top1465 puzzles6_forum_hardest_1106; do
    [[ -f $shared/data/sudoku/$f.txt ]] && score "$f" "$shared/data/sudoku/$f.txt"
  done
  bench_files="$out/medium.txt $out/guess4.txt"
elif [[ $kind == maze ]]; then
  side=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]+'/config.json'))['task']['side'])" "$ckpt" 2>/dev/null || echo 9)
  score "path 4-11" "$(gen short 9201 --side "$side" --min_path 4 --max_path 11)"
  score "path 12-15" "$(gen p12 9202 --side "$side" --min_path 12 --max_path 15)"
  score "path 16-20" "$(gen p16 9203 --side "$side" --min_path 16 --max_path 20)"
  score "path 21+" "$(gen p21 9204 --side "$side" --min_path 21)"
  score "all paths >= 4 (as generated)" "$(gen all 9205 --side "$side" --min_path 4)"
  bench_files="$out/p12.txt $out/p21.txt"
else
  echo "eval-bundled: kind must be sudoku or maze, not '$kind'" >&2
  exit 2
fi

# Latency through the server: one request at a time, ACT halting, on this machine; a typical band
# and the hardest generated one (more ACT steps).
port=${PORT:-50991}
"$build/server/trm-server" --checkpoints "$ckpt" --listen "127.0.0.1:$port" --metrics_listen "" --http_listen "" \
  --threads "$threads" >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  "$build/client/trm-client" health --target "127.0.0.1:$port" >/dev/null 2>&1 && break
  sleep 0.2
done
for f in $bench_files; do
  echo
  echo "Latency, $(basename "$f" .txt) band, 100 requests one at a time:"
  "$build/client/trm-client" bench --task "$kind" --target "127.0.0.1:$port" --file "$f" \
    --requests 100 --concurrency 1 | tee "$out/latency.$(basename "$f" .txt).txt" | sed 's/^/    /'
done
