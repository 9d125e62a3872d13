#!/usr/bin/env bash
# Chooses a checkpoint's default halting threshold (config.json "serving": {"halt_threshold"}),
# the sigmoid(q_halt) above which the engine stops a request that names no threshold of its own.
#
# The paper halts at 0.5 (q_halt_logit > 0). A small model's Q head is often over-confident, so
# a stricter threshold can make "halted" mean "right" more often, at the cost of more ACT steps.
# This runs trm-eval with ACT halting at several thresholds on a calibration set generated with
# seeds that neither training (run seed 0's stream) nor scripts/eval-bundled.sh's held-out bands
# use, prints one row per threshold and picks the one with the highest halting accuracy
# ((sigmoid(q_halt) >= threshold) == exact; ties go to the lower threshold, fewer steps).
#
#   scripts/calibrate-halting.sh sudoku|maze [CHECKPOINT_DIR]     (default checkpoints/KIND)
#
# WRITE=1 writes the choice into CHECKPOINT_DIR/config.json. CAL_N puzzles (default 1000);
# THREADS torch threads (default 2); TRM_BUILD_DIR (default build); THRESHOLDS to try.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: calibrate-halting.sh sudoku|maze [CHECKPOINT_DIR]}
ckpt=${2:-checkpoints/$kind}
build=${TRM_BUILD_DIR:-build}
n=${CAL_N:-1000}
threads=${THREADS:-2}
thresholds=${THRESHOLDS:-0.5 0.6 0.7 0.8 0.9 0.95 0.97 0.99}
out=${OUT_DIR:-/tmp/trm-calibrate-$kind}
mkdir -p "$out"
for b in "$build/puzzle/trm-data" "$build/bench/trm-eval"; do
  [[ -x $b ]] || { echo "calibrate-halting: $b is missing; run scripts/build.sh" >&2; exit 1; }
done

set_file="$out/calibration.txt"
if [[ ! -s $set_file ]]; then
  case $kind in
    sudoku)  # Half across the eval bands' givens, half rated by solver guesses like theirs.
      "$build/puzzle/trm-data" generate sudoku --count $((n / 2)) --seed 9301 --min_givens 28 \
        --max_givens 56 >"$set_file"
      "$build/puzzle/trm-data" generate sudoku --count $((n - n / 2)) --seed 9303 \
        --min_givens 24 --max_givens 40 --min_guesses 1 >>"$set_file" ;;
    maze)
      side=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]+'/config.json'))['task']['side'])" "$ckpt")
      "$build/puzzle/trm-data" generate maze --count "$n" --seed 9302 --side "$side" \
        --min_path 4 >"$set_file" ;;
    *) echo "calibrate-halting: kind must be sudoku or maze, not '$kind'" >&2; exit 2 ;;
  esac
fi

echo "| threshold | exact (ACT) | halting accuracy | halting precision | vouched for | mean ACT steps |"
echo "| --- | --- | --- | --- | --- | --- |"
for t in $thresholds; do
  "$build/bench/trm-eval" --checkpoint "$ckpt" --puzzles "$set_file" --halting act \
    --halt_threshold "$t" --threads "$threads" 2>&1 | grep '^{' >"$out/act.$t.json"
done
python3 - "$out" $thresholds <<'PY'
import json, sys
out, thresholds = sys.argv[1], sys.argv[2:]
best = None
for t in thresholds:
    r = json.load(open(f"{out}/act.{t}.json"))
    print(f"| {t} | {100*r['exact_accuracy']:.1f}% | {100*r['halt_accuracy']:.1f}% | "
          f"{100*r['halt_precision']:.1f}% | {100*r['confident_share']:.1f}% | "
          f"{r['mean_steps']:.2f} |")
    if best is None or r['halt_accuracy'] > best[1]:
        best = (t, r['halt_accuracy'])
open(f"{out}/choice", "w").write(best[0])
PY
choice=$(cat "$out/choice")
echo
echo "chosen halt_threshold: $choice (highest halting accuracy on $set_file)"
if [[ ${WRITE:-0} == 1 ]]; then
  python3 - "$ckpt/config.json" "$choice" <<'PY'
import json, sys
path, t = sys.argv[1], float(sys.argv[2])
j = json.load(open(path))
j.setdefault("serving", {})["halt_threshold"] = t
open(path, "w").write(json.dumps(j, indent=2) + "\n")
PY
  echo "wrote serving.halt_threshold $choice into $ckpt/config.json"
fi
