#!/usr/bin/env bash
# Retrains tests/data/arc_tiny (see MODEL_CARD.md): four ARC-AGI-1 training tasks, 16 official
# augmentations each, a 31,714-parameter TRM, 150 steps. Needs a build and ../shared/data/arc.
#   tests/data/arc_tiny/train.sh [OUT_DIR]    (default /tmp/arc_tiny)
set -euo pipefail
cd "$(dirname "$0")/../../.."
build=${TRM_BUILD_DIR:-build}
shared=${TRM_SHARED_DIR:-../shared}
out=${1:-/tmp/arc_tiny}
src=$out/arc_src
mkdir -p "$src"
python3 - "$shared/data/arc" "$src" <<'PY'
import json, sys
tasks = ["007bbfb7", "00d62c1b", "017c7c7b", "025d127b"]  # The first four of arc-agi_training.
for kind in ("challenges", "solutions"):
    d = json.load(open(f"{sys.argv[1]}/arc-agi_training_{kind}.json"))
    json.dump({t: d[t] for t in tasks}, open(f"{sys.argv[2]}/arc-agi_training_{kind}.json", "w"))
PY
"$build/puzzle/trm-data" build arc --out "$out/data" --arc_dir "$src" --subsets training \
  --test_set training --num_aug 16
"$build/train/trm-train" --preset arc --data_dir "$out/data" --threads 1 --hidden_size 32 \
  --num_heads 2 --L_layers 1 --H_cycles 1 --L_cycles 1 --halt_max_steps 2 --puzzle_emb_ndim 32 \
  --global_batch_size 8 --steps 150 --eval_interval 0 --checkpoint_interval 0 --eval_size 16 \
  --eval_batch_size 16 --lr 1e-3 --lr_warmup_steps 10 --puzzle_emb_lr 1e-2 --log_interval 25 \
  --out_dir "$out/run"
echo "weights: $out/run/step_00000150 (copy config.json and model.pt)"
