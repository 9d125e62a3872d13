#!/usr/bin/env bash
# How much a maze model's answer depends on how the maze is turned: scores the model on each of
# the 8 rotations/reflections of a maze file separately (one view each, all 8 ACT steps), then
# the share solved by the view the Q head is most confident of, by the confidence-weighted vote of
# the 8 views (what options.dihedral_views = 8 does in the server) and by any view (the ceiling).
#
#   scripts/orientation-check.sh MAZE_FILE [CHECKPOINT_DIR]    (default checkpoints/maze)
#
# LIMIT mazes (default 300); THREADS (default 2); TRM_BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:?usage: orientation-check.sh MAZE_FILE [CHECKPOINT_DIR]}
ckpt=${2:-checkpoints/maze}
build=${TRM_BUILD_DIR:-build}
out=${OUT_DIR:-/tmp/trm-orientation}
mkdir -p "$out"
# The 8 views in puzzle/dihedral.h's numbering (0 as given, 1 rot90, 2 rot180, 3 rot270,
# 4 fliplr, 5 flipud, 6 transpose, 7 anti-transpose).
python3 - "$file" "$out" "${LIMIT:-300}" <<'PY'
import sys
path, out, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
blocks = [b.strip("\n").split("\n") for b in open(path).read().split("\n\n") if b.strip()][:limit]
rot90 = lambda g: ["".join(row[len(g[0]) - 1 - c] for row in g) for c in range(len(g[0]))]
views = [lambda g: g, rot90, lambda g: rot90(rot90(g)), lambda g: rot90(rot90(rot90(g))),
         lambda g: [r[::-1] for r in g], lambda g: g[::-1],
         lambda g: ["".join(r[c] for r in g) for c in range(len(g[0]))],
         lambda g: [r[::-1] for r in rot90(g)]]
for k, view in enumerate(views):
    with open(f"{out}/view{k}.txt", "w") as f:
        f.write("".join("\n".join(view(g)) + "\n\n" for g in blocks))
PY
for k in 0 1 2 3 4 5 6 7; do
  "$build/bench/trm-eval" --checkpoint "$ckpt" --puzzles "$out/view$k.txt" --halting fixed \
    --dihedral_views 1 --threads "${THREADS:-2}" --answers "$out/view$k.jsonl" >/dev/null
done
# The server's own vote (engine/dihedral_views.cc), all 8 views of the maze as given.
"$build/bench/trm-eval" --checkpoint "$ckpt" --puzzles "$out/view0.txt" --halting fixed \
  --dihedral_views 8 --threads "${THREADS:-2}" --answers "$out/vote.jsonl" >/dev/null
python3 - "$out" <<'PY'
import json, sys
read = lambda path: {r["name"].rsplit(":", 1)[1]: r for r in map(json.loads, open(path))}
views = [read(f"{sys.argv[1]}/view{k}.jsonl") for k in range(8)]
vote = read(f"{sys.argv[1]}/vote.jsonl")
names = list(views[0])
print("| view | " + " | ".join(str(k) for k in range(8)) + " | most confident | vote | any |")
print("| --- " * 12 + "|")
share = lambda hits: f"{100 * hits / len(names):.1f}%"
row = [share(sum(v[n]["exact"] for n in names)) for v in views]
best = sum(max(views, key=lambda v: v[n]["confidence"])[n]["exact"] for n in names)
voted = sum(vote[n]["exact"] for n in names)
any_ = sum(any(v[n]["exact"] for v in views) for n in names)
print(f"| exact ({len(names)} mazes) | " + " | ".join(row) +
      f" | {share(best)} | {share(voted)} | {share(any_)} |")
PY
