#!/usr/bin/python3
"""Solve a puzzle with TRM Serve from the command line, on the trm_serve package.

    python3 examples/solve.py --target localhost:50051 models
    python3 examples/solve.py sudoku "53..7....6..195...."
    python3 examples/solve.py --stream --max_steps 4 sudoku "53..7....6..195...."
    python3 examples/solve.py maze maze.txt

Prints JSON (one object per line) and exits 0, or prints `error: CODE: message` and exits 1.
"""
import argparse
import dataclasses
import json
import sys

import trm_serve


def show(value):
    print(json.dumps(dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="localhost:50051")
    ap.add_argument("--model", default="")
    ap.add_argument("--stream", action="store_true", help="one line per ACT step")
    ap.add_argument("--max_steps", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("command", choices=["models", "health", "sudoku", "maze"])
    ap.add_argument("puzzle", nargs="?", help="sudoku: 81 characters; maze: a file of rows")
    args = ap.parse_args(argv)
    with trm_serve.Client(args.target, timeout=args.timeout) as client:
        try:
            if args.command == "models":
                for m in client.models():
                    show(m)
                return 0
            if args.command == "health":
                show({"status": client.health()})
                return 0
            if not args.puzzle:
                ap.error(f"{args.command}: give the puzzle")
            kind = {"sudoku": args.puzzle}
            if args.command == "maze":
                with open(args.puzzle) as f:
                    kind = {"maze": f.read()}
            if args.stream:
                for step in client.stream_steps(model=args.model, max_steps=args.max_steps,
                                                **kind):
                    show(step)
            elif args.command == "sudoku":
                show(client.solve_sudoku(args.puzzle, model=args.model, max_steps=args.max_steps))
            else:
                show(client.solve_maze(kind["maze"], model=args.model, max_steps=args.max_steps))
        except trm_serve.TrmError as e:
            print(f"error: {e.code}: {e.message}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
