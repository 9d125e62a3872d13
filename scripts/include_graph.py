#!/usr/bin/env python3
"""The project's include graph between source units, and its cycles.

A unit is a file path without its extension (server/solve_call.h and server/solve_call.cc are
the unit server/solve_call); unit A depends on unit B when a file of A includes "B.h". A cycle
(a strongly connected set of more than one unit) means neither can be read, built or replaced
without the other: a layering back-arrow.

  scripts/include_graph.py                 the cycles in server/, engine/, model/
  scripts/include_graph.py --check         exit 1 on a cycle not in KNOWN_CYCLES (a new one)
  scripts/include_graph.py --dot           the graph for Graphviz
  scripts/include_graph.py --self-test     checks that a cycle in a made-up tree is found

The test `scripts.include_graph` runs --check and --self-test (tests/CMakeLists.txt).
"""
import argparse
import os
import re
import sys
import tempfile

FOLDERS = ["server", "engine", "model"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# Cycles that exist today, each to be removed (issue 32); one that is not here fails --check, and
# one here that no longer exists is reported so the list only shrinks.
KNOWN_CYCLES = [
    # SolveCall takes the gRPC SolverService as its context.
    {"server/solve_call", "server/solver_service"},
    # TrmNet dispatches to its own fast replacement, which is built from a TrmNet.
    {"model/fast_net", "model/trm_net"},
    # engine.h holds both the value types every internal file needs and the facade that
    # engine.cc implements over them.
    {
        "engine/arc_expansion", "engine/dihedral_views", "engine/engine", "engine/engine_internal",
        "engine/halt_policy", "engine/request_state", "engine/scheduler", "engine/serving_model",
        "engine/slot_batch",
    },
]


def units(root, folders):
    """unit -> set of units it includes, for the .h/.cc files under `folders`."""
    graph = {}
    for folder in folders:
        for dirpath, _, files in os.walk(os.path.join(root, folder)):
            for name in files:
                if not name.endswith((".h", ".cc")):
                    continue
                path = os.path.join(dirpath, name)
                unit = os.path.relpath(path, root).rsplit(".", 1)[0]
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                deps = graph.setdefault(unit, set())
                for inc in INCLUDE.findall(text):
                    dep = inc.rsplit(".", 1)[0]
                    if dep != unit and dep.split("/")[0] in folders:
                        deps.add(dep)
    return graph


def cycles(graph):
    """Strongly connected sets of more than one unit (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(component)
    return out


def check(found, known):
    """Messages for new cycles (errors) and known ones that are gone (notes)."""
    new = [c for c in found if c not in known]
    gone = [c for c in known if c not in found]
    errors = [f"include cycle: {' <-> '.join(sorted(c))}" for c in new]
    notes = [f"gone (remove it from KNOWN_CYCLES): {' <-> '.join(sorted(c))}" for c in gone]
    return errors, notes


def self_test():
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "engine"))
        files = {
            "engine/a.h": '#include "engine/b.h"\n',
            "engine/b.h": "",
            "engine/b.cc": '#include "engine/b.h"\n#include "engine/c.h"\n',
            "engine/c.h": '#include <vector>\n',
            "engine/c.cc": '#include "engine/a.h"\n',
        }
        for name, text in files.items():
            with open(os.path.join(root, name), "w") as f:
                f.write(text)
        found = cycles(units(root, ["engine"]))
        want = [{"engine/a", "engine/b", "engine/c"}]
        if found != want:
            print(f"self-test: found {found}, want {want}", file=sys.stderr)
            return 1
        errors, _ = check(found, [])
        if len(errors) != 1:
            print(f"self-test: --check reported {errors}", file=sys.stderr)
            return 1
    print("self-test: a three-unit cycle is found and fails --check")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--dot", action="store_true")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    graph = units(args.root, FOLDERS)
    if args.dot:
        print("digraph includes {")
        for unit in sorted(graph):
            for dep in sorted(graph[unit]):
                print(f'  "{unit}" -> "{dep}";')
        print("}")
        return 0
    found = cycles(graph)
    if not args.check:
        for c in found:
            print(" <-> ".join(sorted(c)))
        return 0
    errors, notes = check(found, KNOWN_CYCLES)
    for line in notes:
        print(line)
    for line in errors:
        print(line, file=sys.stderr)
    print(f"{len(graph)} units in {', '.join(FOLDERS)}; {len(found)} cycles, {len(errors)} new")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
