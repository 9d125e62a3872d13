#!/usr/bin/env bash
# Reproduces the seed tutorial's ablation (baseline / no EMA / less recursion / bigger brain,
# 10 epochs on 1,000 generated hard mazes) with trm-train, and writes the table
# (ablation.md), the raw numbers (ablation.json) and the four loss curves (loss_curves.svg).
#
#   scripts/ablation.sh --small            # CPU: 15x15 mazes, hidden 64 (minutes)
#   scripts/ablation.sh                    # full size: 30x30 Maze-Hard, hidden 512 (GPU)
#   scripts/ablation.sh --small --out runs/abl --threads 2   # extra flags go to trm-train
#
# Uses $TRM_BUILD_DIR/train/trm-train (default build/); builds it first if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${TRM_BUILD_DIR:-build}"
small=false
out=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --small) small=true ;;
    --out) out="$2"; shift ;;
    --out=*) out="${1#--out=}" ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) extra+=("$1") ;;
  esac
  shift
done
[[ -n "$out" ]] || out="runs/ablation$($small && echo _small)"
bin="$build/train/trm-train"
if [[ ! -x "$bin" ]]; then
  cmake -S . -B "$build" -G Ninja >/dev/null
  cmake --build "$build" --target trm-train
fi
mkdir -p "$out"
"$bin" --ablation --small="$small" --out_dir "$out" "${extra[@]}" 2>&1 | tee "$out/ablation.log"
echo "table: $out/ablation.md  curves: $out/loss_curves.svg"
