#!/usr/bin/env bash
# Retrains tests/data/arc_tiny (see MODEL_CARD.md): four ARC-AGI-1 training tasks, 16 official
# augmentations each, a 31,714-parameter TRM, 150 steps. Needs a build.
#   tests/data/arc_tiny/train.sh [OUT_DIR]    (default /tmp/arc_tiny)
set -euo pipefail
cd "$(dirname "$0")/../../.."
build=${TRM_BUILD_DIR:-build}
out=${1:-/tmp/arc_tiny}
# Its four tasks are in this folder (arc-agi_training_*.json: the first four of ARC-AGI-1's
# training file, as written from ../shared/data/arc).
src=tests/data/arc_tiny
"$build/puzzle/trm-data" build arc --out "$out/data" --arc_dir "$src" --subsets training \
  --test_set training --num_aug 16
"$build/train/trm-train" --preset arc --data_dir "$out/data" --threads 1 --hidden_size 32 \
  --num_heads 2 --L_layers 1 --H_cycles 1 --L_cycles 1 --halt_max_steps 2 --puzzle_emb_ndim 32 \
  --global_batch_size 8 --steps 150 --eval_interval 0 --checkpoint_interval 0 --eval_size 16 \
  --eval_batch_size 16 --lr 1e-3 --lr_warmup_steps 10 --puzzle_emb_lr 1e-2 --log_interval 25 \
  --out_dir "$out/run"
echo "weights: $out/run/step_00000150 (copy config.json and model.pt)"
