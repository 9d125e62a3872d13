# Where one ACT step of the official TRM code spends its time on the CPU, op by op: torch's
# autograd profiler around eager ACT steps (after warm-up), as a table of self CPU time per op.
# The official code and the shims it needs come from ../shared/anchors (README.md there).
#
#   TRM_OFFICIAL=/tmp/official SIDE=sudoku:128:1 THREADS=2 /usr/bin/python3 bench/profile_official_step.py
#
# SIDE: task:hidden:batch (sudoku: the paper's sudoku shape, 8 heads, H3 L6, 81 cells + 16
# puzzle-embedding positions; maze: 30x30, L4). STEPS: profiled steps (default 2).
# ARCH: a checkpoint's config.json (checkpoints/sudoku/config.json): its "arch" replaces the
# shape (SIDE then gives only the batch). The official code builds a puzzle prefix only from a
# puzzle embedding, so a prefix without one (puzzle_emb_ndim 0) gets a hidden-wide embedding: the
# same sequence and step, one lookup more.
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ANCHORS = os.path.join(os.environ.get("TRM_SHARED_DIR", os.path.join(HERE, "..", "..", "shared")),
                       "anchors")
sys.path.insert(0, os.environ["TRM_OFFICIAL"])
sys.path.append(os.path.join(ANCHORS, "shim"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

# What torch 1.13 lacks and the official code uses (as ../shared/anchors/official_speed.py).
if not hasattr(nn, "Buffer"):
    nn.Buffer = lambda t, persistent=True: nn.Parameter(t, requires_grad=False)
if not hasattr(F, "scaled_dot_product_attention"):
    def sdpa(query, key, value, is_causal=False):
        a = torch.softmax(query @ key.transpose(-1, -2) / math.sqrt(query.shape[-1]), -1)
        return a @ value
    F.scaled_dot_product_attention = sdpa
try:
    @torch.no_grad
    def _probe():
        pass
except TypeError:  # torch 1.13's no_grad is no bare decorator
    _no_grad = torch.no_grad
    torch.no_grad = lambda f=None: _no_grad()(f) if f is not None else _no_grad()
import torch.optim.optimizer as _oo  # noqa: E402
if not hasattr(_oo, "ParamsT"):
    _oo.ParamsT = object
from models.recursive_reasoning.trm import TinyRecursiveReasoningModel_ACTV1  # noqa: E402

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
task, hidden, batch = os.environ.get("SIDE", "sudoku:128:1").split(":")
hidden, batch = int(hidden), int(batch)
seq, vocab, l_cycles = (81, 11, 6) if task == "sudoku" else (900, 6, 4)
config = dict(batch_size=batch, seq_len=seq, puzzle_emb_ndim=hidden, num_puzzle_identifiers=1,
              vocab_size=vocab, H_cycles=3, L_cycles=l_cycles, H_layers=0, L_layers=2,
              hidden_size=hidden, expansion=4, num_heads=8, pos_encodings="rope",
              halt_max_steps=16, halt_exploration_prob=0.1, forward_dtype="float32",
              mlp_t=False, puzzle_emb_len=16, no_ACT_continue=True)
if os.environ.get("ARCH"):
    with open(os.environ["ARCH"]) as f:
        arch = json.load(f)["arch"]
    for key in ("seq_len", "vocab_size", "H_cycles", "L_cycles", "L_layers", "hidden_size",
                "expansion", "num_heads", "pos_encodings", "mlp_t", "puzzle_emb_len",
                "puzzle_emb_ndim", "halt_max_steps"):
        config[key] = arch[key]
    if config["puzzle_emb_len"] > 0 and config["puzzle_emb_ndim"] == 0:
        config["puzzle_emb_ndim"] = config["hidden_size"]
    task, hidden = os.path.basename(os.path.dirname(os.path.abspath(os.environ["ARCH"]))), \
        config["hidden_size"]
    seq, vocab = config["seq_len"], config["vocab_size"]
torch.manual_seed(0)
model = TinyRecursiveReasoningModel_ACTV1(config).eval()
g = torch.Generator().manual_seed(0)
data = {"inputs": torch.randint(1, vocab, (batch, seq), generator=g),
        "labels": torch.randint(1, vocab, (batch, seq), generator=g),
        "puzzle_identifiers": torch.zeros(batch, dtype=torch.long)}
steps = int(os.environ.get("STEPS", "2"))
with torch.inference_mode():
    carry = model.initial_carry(data)
    carry, _ = model(carry, data)  # warm-up
    with torch.autograd.profiler.profile() as prof:
        for _ in range(steps):
            carry, _ = model(carry, data)
events = prof.key_averages()
total = sum(e.self_cpu_time_total for e in events)
print(json.dumps({"side": f"{task}:{hidden}:{batch}", "threads": torch.get_num_threads(),
                  "steps": steps, "ms_per_step": total / 1e3 / steps}))
print("| op | calls per step | self ms per step | share |")
print("| --- | --- | --- | --- |")
for e in sorted(events, key=lambda e: -e.self_cpu_time_total):
    if e.self_cpu_time_total < 0.005 * total:
        continue
    print(f"| {e.key} | {e.count / steps:.0f} | {e.self_cpu_time_total / 1e3 / steps:.1f} | "
          f"{100 * e.self_cpu_time_total / total:.1f}% |")
