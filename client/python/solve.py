#!/usr/bin/python3
"""Example trm.v1 client in Python (Debian's python3-grpcio), with stubs generated from
proto/trm/v1/solver.proto at build time into build-*/proto/python.

    /usr/bin/python3 client/python/solve.py --stubs build/proto/python --target localhost:50051 \
        models
    /usr/bin/python3 client/python/solve.py --stubs build/proto/python sudoku "53..7....6..195..."
    /usr/bin/python3 client/python/solve.py --stubs build/proto/python --stream sudoku "..."

Prints JSON (one object per line) and exits 0, or prints `error: CODE: message` and exits 1.
"""
import argparse
import json
import os
import sys


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="localhost:50051")
    ap.add_argument("--stubs", default=os.environ.get("TRM_PROTO_PYTHON", ""),
                    help="folder with trm/v1/solver_pb2.py (build-*/proto/python)")
    ap.add_argument("--model", default="")
    ap.add_argument("--stream", action="store_true", help="SolveSteps: one line per ACT step")
    ap.add_argument("--max_steps", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("command", choices=["models", "sudoku", "maze"])
    ap.add_argument("puzzle", nargs="?", help="sudoku: 81 characters; maze: a file of rows")
    args = ap.parse_args(argv)
    if args.stubs:
        sys.path.insert(0, args.stubs)
    import grpc
    from google.protobuf import json_format
    from trm.v1 import solver_pb2, solver_pb2_grpc

    def show(message):
        print(json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True)))

    with grpc.insecure_channel(args.target) as channel:
        stub = solver_pb2_grpc.SolverStub(channel)
        try:
            if args.command == "models":
                show(stub.ListModels(solver_pb2.ListModelsRequest(), timeout=args.timeout))
                return 0
            if not args.puzzle:
                ap.error(f"{args.command}: give the puzzle")
            request = solver_pb2.SolveRequest(
                model=args.model, options=solver_pb2.SolveOptions(max_steps=args.max_steps))
            if args.command == "sudoku":
                request.sudoku = args.puzzle
            else:
                with open(args.puzzle) as f:
                    request.maze.rows.extend(line.rstrip("\r\n") for line in f if line.strip())
            if args.stream:
                for step in stub.SolveSteps(request, timeout=args.timeout):
                    show(step)
            else:
                show(stub.Solve(request, timeout=args.timeout))
        except grpc.RpcError as e:
            print(f"error: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
