"""ARC Prize files through TRM Serve, as `trm-client arc run` does: every test input of every task
is one solve (the server expands it into the model's augmentations and votes), at most
`concurrency` at once; the result is the ARC Prize submission and, with the solutions, the official
score (a test input counts when either attempt is exact; a task scores the share of its test
inputs solved; the file scores the sum of its tasks' scores).

    import trm_serve, trm_serve.arc
    with trm_serve.Client("localhost:50051") as client:
        run = trm_serve.arc.run(client, "arc-agi_evaluation_challenges.json",
                                solutions="arc-agi_evaluation_solutions.json")
    json.dump(run.submission, open("submission.json", "w"))
    print(run.score, "of", len(run.report["tasks"]))

A task with a fault in the file (not a grid, a colour outside 0-9, a grid over 30x30, ragged rows,
no test input, no solution) is named in `errors` with the field at fault; the others still run.
"""
from __future__ import annotations

import json
import math
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from .client import TrmError

MAX_SIDE = 30


class ArcFileError(ValueError):
    """A file that cannot be read at all (not JSON, not an object of tasks)."""


def _grid(value, where: str) -> List[List[int]]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: arc grid: expected a list of rows")
    if not value:
        raise ValueError(f"{where}: arc grid: empty")
    if len(value) > MAX_SIDE:
        raise ValueError(f"{where}: arc grid: {len(value)} rows exceed {MAX_SIDE}")
    for r, row in enumerate(value, 1):
        if not isinstance(row, list):
            raise ValueError(f"{where}: arc grid: row {r} is not a list")
        for c, v in enumerate(row, 1):
            if not isinstance(v, int) or isinstance(v, bool):
                raise ValueError(f"{where}: arc grid: cell r{r}c{c} is not an integer")
            if not 0 <= v <= 9:
                raise ValueError(f"{where}: arc grid: colour {v} at r{r}c{c} is outside 0..9")
    cols = len(value[0])
    for r, row in enumerate(value, 1):
        if len(row) != cols:
            raise ValueError(f"{where}: arc grid: row {r} has {len(row)} cells, row 1 has {cols}")
    if cols == 0:
        raise ValueError(f"{where}: arc grid: empty")
    if cols > MAX_SIDE:
        raise ValueError(f"{where}: arc grid: {cols} columns exceed {MAX_SIDE}")
    return value


def _task(task_id: str, task, solutions: Optional[dict]) -> dict:
    where = f"task {task_id}"
    if not isinstance(task, dict):
        raise ValueError(f"{where}: expected an object")
    for key in ("train", "test"):
        if key not in task:
            raise ValueError(f'{where}: no "{key}"')
        if not isinstance(task[key], list):
            raise ValueError(f"{where} {key}: expected a list of examples")
    for i, e in enumerate(task["train"]):
        for key in ("input", "output"):
            if not isinstance(e, dict) or key not in e:
                raise ValueError(f'{where} train[{i}]: no "{key}"')
            _grid(e[key], f"{where} train[{i}].{key}")
    tests = []
    for i, e in enumerate(task["test"]):
        if not isinstance(e, dict) or "input" not in e:
            raise ValueError(f'{where} test[{i}]: no "input"')
        tests.append(_grid(e["input"], f"{where} test[{i}].input"))
    if not tests:
        raise ValueError(f"{where} test: no test input")
    out = {"id": task_id, "train": task["train"], "test": tests, "solutions": None}
    if solutions is not None:
        if task_id not in solutions:
            raise ValueError(f"solutions have no task {task_id}")
        grids = solutions[task_id]
        if not isinstance(grids, list) or len(grids) != len(tests):
            n = len(grids) if isinstance(grids, list) else 0
            raise ValueError(f"solutions have {n} grids for task {task_id}, it has {len(tests)} tests")
        out["solutions"] = [_grid(g, f"solutions {task_id}[{i}]") for i, g in enumerate(grids)]
    return out


def _load(path: str, what: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as error:
        raise ArcFileError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ArcFileError(f"{path}: {what}: not JSON: {error}") from None
    if not isinstance(doc, dict):
        raise ArcFileError(f"{path}: {what}: expected an object of task id -> "
                           f"{'task' if what == 'challenges' else 'grids'}")
    return doc


def load_tasks(challenges: str, solutions: Optional[str] = None):
    """The file's well-formed tasks (sorted by id) and {task_id: what is wrong} for the others."""
    doc = _load(challenges, "challenges")
    sols = _load(solutions, "solutions") if solutions else None
    tasks, errors = [], {}
    for task_id in sorted(doc):
        try:
            tasks.append(_task(task_id, doc[task_id], sols))
        except ValueError as error:
            errors[task_id] = str(error)
    return tasks, errors


@dataclass
class ArcRun:
    submission: Dict[str, list]          # The ARC Prize format, one entry per test input.
    report: dict                         # Per task: attempts, solved, steps, errors; timings.
    errors: Dict[str, str] = field(default_factory=dict)  # Tasks the file could not give.
    tests_failed: int = 0                # Calls that failed (their entries are [[0]] twice).
    score: Optional[float] = None        # With solutions: the sum of the tasks' scores.


def progress_bar(done_tasks, total_tasks, done, total, solved, elapsed, scored, width=30) -> str:
    filled = round(width * (done / total if total else 1))
    line = f"[{'#' * filled}{'-' * (width - filled)}] {done_tasks}/{total_tasks} tasks"
    if scored:
        line += f"  {solved} solved"
    if 0 < done < total:
        eta = math.ceil(elapsed / done * (total - done))
        line += f"  ETA {eta // 60}:{eta % 60:02d}"
    return line


def run(client, challenges: str, solutions: Optional[str] = None, *, model: str = "",
        concurrency: int = 4, augmentations: int = 0, timeout: Optional[float] = 600,
        progress: Optional[Callable[[str], None]] = None, fit: bool = True) -> ArcRun:
    """Runs a challenges file through `client` (a trm_serve.Client). `progress`, when given, gets
    a progress-bar line after each answered test input. With `fit`, each task's train pairs go
    with its test inputs, so the server fits the tasks its model was not trained on."""
    tasks, errors = load_tasks(challenges, solutions)
    scored = solutions is not None
    jobs = [(t, i) for t in tasks for i in range(len(t["test"]))]
    outcomes: Dict[tuple, dict] = {}
    left = {t["id"]: len(t["test"]) for t in tasks}
    lock = threading.Lock()
    state = {"tasks": len(errors), "done": 0, "solved": 0}
    start = time.monotonic()
    model_seen = [""]

    def solve(job):
        task, i = job
        began = time.monotonic()
        outcome = {"steps": 0}
        try:
            r = client.solve_arc(task["id"], task["test"][i], model=model,
                                 augmentations=augmentations, attempts=2, timeout=timeout,
                                 train=task["train"] if fit else ())
            attempts = [a.grid for a in r.arc_attempts[:2]]
            if not attempts:
                raise TrmError("INTERNAL", "the server answered with no attempt")
            if len(attempts) == 1:
                attempts.append(attempts[0])
            outcome.update(attempt_1=attempts[0], attempt_2=attempts[1], steps=r.steps)
            if task["solutions"] is not None:
                outcome["solved"] = task["solutions"][i] in attempts
            model_seen[0] = r.model
        except TrmError as error:
            outcome["error"] = str(error)
        outcome["latency_ms"] = (time.monotonic() - began) * 1000
        with lock:
            outcomes[(task["id"], i)] = outcome
            state["done"] += 1
            state["solved"] += bool(outcome.get("solved"))
            left[task["id"]] -= 1
            state["tasks"] += left[task["id"]] == 0
            if progress:
                progress(progress_bar(state["tasks"], len(tasks) + len(errors), state["done"],
                                      len(jobs), state["solved"], time.monotonic() - start, scored))

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(solve, jobs))

    submission, report_tasks, score, failed = {}, {}, 0.0, 0
    for task in tasks:
        tests = [outcomes[(task["id"], i)] for i in range(len(task["test"]))]
        entries = []
        for t in tests:
            if "error" in t:
                failed += 1
                entries.append({"attempt_1": [[0]], "attempt_2": [[0]]})
            else:
                entries.append({"attempt_1": t["attempt_1"], "attempt_2": t["attempt_2"]})
        submission[task["id"]] = entries
        entry = {"tests": tests}
        if scored:
            entry["score"] = sum(bool(t.get("solved")) for t in tests) / len(tests)
            score += entry["score"]
        report_tasks[task["id"]] = entry
    for task_id, message in errors.items():
        report_tasks[task_id] = {"error": message, "tests": []}
    report = {"model": model_seen[0], "tasks": dict(sorted(report_tasks.items())),
              "task_count": len(report_tasks), "test_count": len(jobs), "tests_failed": failed,
              "wall_s": time.monotonic() - start}
    if scored:
        report.update(score=score, tests_solved=state["solved"],
                      score_percent=100 * score / len(report_tasks) if report_tasks else 0.0)
    return ArcRun(submission=submission, report=report, errors=errors, tests_failed=failed,
                  score=score if scored else None)


def main(argv: Optional[List[str]] = None) -> int:
    """python3 -m trm_serve arc run CHALLENGES.json [--solutions S] [--out submission.json]"""
    import argparse
    import os

    from .client import Client

    parser = argparse.ArgumentParser(prog="python3 -m trm_serve arc run",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("challenges")
    parser.add_argument("--solutions")
    parser.add_argument("--out", default="submission.json")
    parser.add_argument("--report", help="default: OUT's name with _report.json")
    parser.add_argument("--target", default="localhost:50051")
    parser.add_argument("--model", default="")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--augmentations", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--no-fit", dest="fit", action="store_false",
                        help="do not send train pairs: unseen tasks are NOT_FOUND, not fitted")
    args = parser.parse_args(argv)
    report_path = args.report or (os.path.splitext(args.out)[0] + "_report.json")
    for path in (args.out, report_path):  # Before the run, not after its hours of calls.
        try:
            with open(path, "w") as f:
                f.write("{}\n")
        except OSError as error:
            print(f"trm_serve: cannot write {path}: {error.strerror}", file=sys.stderr)
            return 2
    tty = sys.stderr.isatty()
    try:
        with Client(args.target) as client:
            result = run(client, args.challenges, args.solutions, model=args.model,
                         concurrency=args.concurrency, augmentations=args.augmentations,
                         timeout=args.timeout, fit=args.fit,
                         progress=(lambda line: print("\r\x1b[2K" + line, end="", file=sys.stderr,
                                                      flush=True)) if tty else None)
    except ArcFileError as error:
        print(f"trm_serve: {error}", file=sys.stderr)
        return 2
    if tty:
        print(file=sys.stderr)
    for task_id, message in result.errors.items():
        print(f"trm_serve: {message}", file=sys.stderr)
    with open(args.out, "w") as f:
        json.dump(result.submission, f)
    with open(report_path, "w") as f:
        json.dump(result.report, f)
    for task_id, entry in result.report["tasks"].items():
        errs = "".join(f"  test {i}: {t['error']}" for i, t in enumerate(entry["tests"])
                       if "error" in t)
        if "error" in entry:
            print(f"{task_id}  not run: {entry['error']}")
        elif result.score is not None:
            solved = sum(bool(t.get("solved")) for t in entry["tests"])
            print(f"{task_id}  {solved}/{len(entry['tests'])}  {entry['score']:.2f}{errs}")
        elif errs:
            print(f"{task_id}{errs}")
    n = result.report["task_count"]
    if result.score is not None:
        print(f"score: {result.score:.2f} of {n} tasks = {100 * result.score / n:.1f}% "
              f"({result.report['model'] or 'no model answered'}, {result.report['wall_s']:.1f} s)")
    else:
        print(f"{n} tasks answered in {result.report['wall_s']:.1f} s (no solutions: not scored)")
    print(f"submission: {args.out}\nreport: {report_path}")
    return 0 if not result.errors and not result.tests_failed else 1
