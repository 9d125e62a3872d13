#!/usr/bin/env bash
# End-to-end tests of trm-data: runs the built binary on tests/data's puzzles and ARC tasks (any
# clone has them) and on puzzles it generates.
# Usage: trm_data_test.sh TRM_DATA TEST_DATA_DIR
set -uo pipefail
BIN="$1"
DATA="$2"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
failures=0
check() {  # check DESCRIPTION COMMAND... : the command must succeed.
  local what="$1"; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; failures=$((failures + 1)); fi
}

# --help and usage errors.
"$BIN" --help > help.txt; rc=$?
check "--help exits 0" test $rc -eq 0
check "--help lists the commands" grep -q "trm-data solve sudoku|maze FILE" help.txt
check "--help lists the flags" grep -q -- "--count (generate/build: number of puzzles" help.txt
check "--help lists the maze flags" grep -q -- "--loop_fraction" help.txt
check "--help leaves out the libraries' flags" bash -c "! grep -q -- '--flagfile' help.txt"
"$BIN" -h > help_h.txt; rc=$?
check "-h exits 0" test $rc -eq 0
check "-h prints the same help" cmp -s help.txt help_h.txt
"$BIN" help > help_word.txt; rc=$?
check "help exits 0" test $rc -eq 0
check "help prints the same help" cmp -s help.txt help_word.txt
"$BIN" --helpfull > helpfull.txt  # absl's own listing (and absl's exit status).
check "--helpfull lists the libraries' flags too" grep -q -- "--flagfile" helpfull.txt
"$BIN" solve chess x.txt 2> err.txt; rc=$?
check "unknown kind exits 2" test $rc -eq 2
check "unknown kind is named" grep -q "unknown puzzle kind 'chess' for solve" err.txt
"$BIN" frobnicate sudoku 2> err.txt; rc=$?
check "unknown command exits non-zero" test $rc -ne 0
check "unknown command is named" grep -q "unknown command 'frobnicate'" err.txt
"$BIN" solve sudoku /nonexistent.txt 2> err.txt; rc=$?
check "missing file exits non-zero" test $rc -ne 0
check "missing file is named" grep -q "cannot read /nonexistent.txt" err.txt

# solve sudoku: a bad line gets an error naming it, the rest are still solved, in order.
{
  echo "# two good puzzles around a bad one"
  sed -n 3p "$DATA/sudoku/generated_hard.txt"
  echo "4...3.......6..8..........1....5..9..8....6...7.2..x.....1.27..5.3....4.9........"
  sed -n 5p "$DATA/sudoku/generated_hard.txt"
} > mixed.txt
"$BIN" solve sudoku mixed.txt > solved.txt 2> err.txt; rc=$?
check "solve with a bad line exits 1" test $rc -eq 1
check "the bad line is named with its character" \
  grep -q "mixed.txt:3: sudoku: bad character 'x' at position 51" err.txt
check "the two good puzzles are solved" test "$(wc -l < solved.txt)" -eq 2
check "the summary counts solved puzzles" grep -q "^solved 2 of 3 sudoku puzzles in" err.txt
grep -v x mixed.txt > good.txt
"$BIN" verify sudoku good.txt solved.txt > verdicts.txt; rc=$?
check "verify accepts the solutions" test $rc -eq 0
check "verify summary" grep -q "^2 of 2 correct$" verdicts.txt
# Break one answer: swap two digits of the first solution.
awk 'NR==1 { $0 = substr($0,2,1) substr($0,1,1) substr($0,3) } { print }' solved.txt > broken.txt
"$BIN" verify sudoku good.txt broken.txt > verdicts.txt; rc=$?
check "verify rejects a wrong answer" test $rc -eq 1
check "the wrong answer's verdict says why" grep -q "broken.txt:1: wrong: sudoku answer:" verdicts.txt
check "verify summary counts it" grep -q "^1 of 2 correct$" verdicts.txt

# generate sudoku: unique puzzles, reproducible from the seed.
"$BIN" generate sudoku --count 5 --seed 7 --min_givens 22 --max_givens 28 > gen.txt
"$BIN" generate sudoku --count 5 --seed 7 --min_givens 22 --max_givens 28 > gen2.txt
check "generate writes 5 puzzles" test "$(wc -l < gen.txt)" -eq 5
check "generate is seeded" cmp -s gen.txt gen2.txt
"$BIN" solve sudoku gen.txt > gen_solved.txt 2> err.txt; rc=$?
check "generated puzzles solve" test $rc -eq 0
check "generated puzzles are unique" bash -c "! grep -q 'more than one' err.txt"
"$BIN" generate sudoku --count 1 --min_givens 5 2> err.txt; rc=$?
check "bad generator options exit non-zero" test $rc -ne 0
check "bad generator option is named" grep -q "min_givens 5 is below 17" err.txt

# Mazes: Maze-Hard generation, solving and verification round trip.
"$BIN" generate maze --count 2 --hard --seed 3 > mazes.txt
check "maze blocks are 30 rows" test "$(grep -c '^#' mazes.txt)" -eq 60
"$BIN" solve maze mazes.txt > maze_solved.txt; rc=$?
check "mazes solve" test $rc -eq 0
"$BIN" verify maze mazes.txt maze_solved.txt > verdicts.txt; rc=$?
check "maze solutions verify" test $rc -eq 0
printf '#####\n#S#G#\n#####\n\n#####\n#S xG\n#####\n' > bad_mazes.txt
"$BIN" solve maze bad_mazes.txt > out.txt 2> err.txt; rc=$?
check "unsolvable and bad mazes exit 1" test $rc -eq 1
check "unsolvable maze named" grep -q "bad_mazes.txt:1: maze: no path from S to G" err.txt
check "bad maze character named" grep -q "bad_mazes.txt:5: maze: bad character 'x' at row 2, column 4" err.txt

# build: datasets numpy and the official loader's expectations can read.
"$BIN" build sudoku --out ds_sudoku --train gen.txt --test good.txt --num_aug 3 --seed 1 2> err.txt
check "build sudoku" test $? -eq 0
"$BIN" build maze --out ds_maze --count 3 --test_count 1 --side 13 --seed 2 2> err.txt
check "build maze" test $? -eq 0
"$BIN" build arc --out ds_arc --arc_dir "$DATA/arc" --subsets evaluation --num_aug 1 2> err.txt
check "build arc" test $? -eq 0
/usr/bin/python3 - > py.txt 2>&1 <<'PY'
import json, numpy as np
for d, n_train, seq in [("ds_sudoku", 20, 81), ("ds_maze", 24, 900), ("ds_arc", None, 900)]:
    for split in ["train", "test"]:
        m = json.load(open(f"{d}/{split}/dataset.json"))
        a = {k: np.load(f"{d}/{split}/all__{k}.npy") for k in
             ["inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices"]}
        assert m["seq_len"] == seq and a["inputs"].shape[1] == seq, d
        assert a["inputs"].shape == a["labels"].shape
        assert a["puzzle_indices"][-1] == len(a["inputs"]) and a["puzzle_indices"][0] == 0
        assert a["group_indices"][-1] == len(a["puzzle_identifiers"]) == m["total_puzzles"]
        assert len(a["group_indices"]) - 1 == m["total_groups"]
        assert a["inputs"].max() < m["vocab_size"]
        if split == "train" and n_train is not None:
            assert len(a["inputs"]) == n_train, (d, len(a["inputs"]))
    ids = json.load(open(f"{d}/identifiers.json"))
    assert ids[0] == "<blank>"
t = json.load(open("ds_arc/test_puzzles.json"))
assert len(t) == 5 and all("output" in p for task in t.values() for p in task["test"])
print("datasets ok")
PY
check "numpy reads the built datasets" grep -q "datasets ok" py.txt || cat py.txt
"$BIN" build sudoku 2> err.txt; rc=$?
check "build without --out fails" test $rc -ne 0
check "build without --out says so" grep -q "build needs --out DIR" err.txt

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
