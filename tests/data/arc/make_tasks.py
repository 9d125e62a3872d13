#!/usr/bin/env python3
"""Writes the ARC tasks in this folder: small tasks in the official arc-agi_*.json layout whose
rules are known (flip, recolour, transpose, tile, gravity, crop, frame, rotate), so the ARC codecs,
augmentation and dataset builders are tested on a clone that has no ../shared/data/arc.

Deterministic: run it again and the files come out byte for byte the same.
  python3 tests/data/arc/make_tasks.py tests/data/arc
"""
import json
import random
import sys


def grid(rng, rows, cols, density=0.4):
    return [[rng.randrange(1, 10) if rng.random() < density else 0 for _ in range(cols)]
            for _ in range(rows)]


def flip(g):
    return [row[::-1] for row in g]


def transpose(g):
    return [list(r) for r in zip(*g)]


def rotate180(g):
    return [row[::-1] for row in g[::-1]]


def tile(g):
    return [row + row for row in g] * 2


def gravity(g):
    cols = transpose(g)
    fallen = [[0] * c.count(0) + [v for v in c if v] for c in cols]
    return transpose(fallen)


def crop(g):
    rows = [r for r, row in enumerate(g) if any(row)]
    cols = [c for c in range(len(g[0])) if any(row[c] for row in g)]
    return [row[cols[0]:cols[-1] + 1] for row in g[rows[0]:rows[-1] + 1]]


def frame(g):
    last_r, last_c = len(g) - 1, len(g[0]) - 1
    return [[8 if r in (0, last_r) or c in (0, last_c) else v for c, v in enumerate(row)]
            for r, row in enumerate(g)]


def recolour(perm):
    return lambda g: [[perm[v] for v in row] for row in g]


# name -> (rule, smallest side, largest side); every output fits the 30x30 frame.
def rules(rng):
    perm = list(range(10))
    tail = perm[1:]
    rng.shuffle(tail)
    return {
        "flip": (flip, 2, 12),
        "recolour": (recolour([0] + tail), 3, 10),
        "transpose": (transpose, 2, 9),
        "tile": (tile, 2, 15),
        "gravity": (gravity, 3, 10),
        "crop": (crop, 4, 12),
        "frame": (frame, 3, 11),
        "rotate30": (rotate180, 30, 30),  # A full 30x30 frame: no end-of-grid marker fits.
    }


def make_task(rng, rule, low, high, train_pairs, test_pairs):
    def pair():
        while True:
            g = grid(rng, rng.randint(low, high), rng.randint(low, high))
            if any(any(row) for row in g):
                return {"input": g, "output": rule(g)}

    return [pair() for _ in range(train_pairs)], [pair() for _ in range(test_pairs)]


def main(out_dir):
    rng = random.Random(20261206)
    subsets = {
        "training": ["flip", "recolour", "transpose", "tile", "gravity", "crop"],
        "evaluation": ["frame", "rotate30", "flip", "recolour", "gravity"],
    }
    for subset, names in subsets.items():
        challenges, solutions = {}, {}
        for i, name in enumerate(names):
            rule, low, high = rules(rng)[name]
            # Evaluation tasks 2 and 4 have two test inputs, as some official tasks do.
            tests = 2 if subset == "evaluation" and i in (2, 4) else 1
            train, test = make_task(rng, rule, low, high, rng.randint(2, 4), tests)
            task_id = "%08x" % rng.getrandbits(32)
            challenges[task_id] = {"train": train, "test": [{"input": t["input"]} for t in test]}
            solutions[task_id] = [t["output"] for t in test]
        for what, content in (("challenges", challenges), ("solutions", solutions)):
            with open("%s/arc-agi_%s_%s.json" % (out_dir, subset, what), "w") as f:
                json.dump(content, f, separators=(",", ":"), sort_keys=True)
                f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
