#!/usr/bin/env python3
"""The project's include graph between source units, and its cycles.

A unit is a file path without its extension (server/solve_call.h and server/solve_call.cc are
the unit server/solve_call); unit A depends on unit B when a file of A includes "B.h". A cycle
(a strongly connected set of more than one unit) means neither can be read, built or replaced
without the other: a layering back-arrow.

  scripts/include_graph.py                 the cycles and back-arrows in server/, engine/, model/
  scripts/include_graph.py --check         the same, exit 1 if there is any
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
# The layers inside a folder, lowest first: a unit may include units of its own layer (and group)
# or of lower layers; anything else is a back-arrow. A key ending in "/" is a folder, else one
# unit; the first key that matches a unit gives its layer. Tests sit above every layer.
LAYERS = [
    # server/: the solve path and what both transports share, then the guards around gRPC 1.51
    # and glibc, then each transport (neither includes the other), then the server that
    # assembles them.
    ("server/guards/", 1, "guards"),
    ("server/grpc/", 2, "grpc"),
    ("server/http/", 2, "http"),
    ("server/fuzz/", 3, "server"),
    ("server/server", 3, "server"),
    ("server/main", 3, "server"),
    ("server/", 0, "shared"),
    # engine/: the value types, the internals built on them, the facade, its implementation.
    ("engine/engine_types", 0, "types"),
    ("engine/engine", 2, "facade"),
    ("engine/engine_internal", 3, "implementation"),
    ("engine/test_models", 4, "tests"),
    ("engine/", 1, "internals"),
]


def layer_of(unit, layers):
    for key, level, group in layers:
        if (key.endswith("/") and unit.startswith(key)) or unit == key:
            return level, group
    return None


def back_arrows(graph, layers):
    """Includes from a unit to one of a higher layer, or of another group of the same layer."""
    out = []
    for unit in sorted(graph):
        mine = layer_of(unit, layers)
        if mine is None or unit.endswith("_test"):
            continue
        for dep in sorted(graph[unit]):
            theirs = layer_of(dep, layers)
            if theirs is None or dep.split("/")[0] != unit.split("/")[0]:
                continue
            if theirs[0] > mine[0] or (theirs[0] == mine[0] and theirs[1] != mine[1]):
                out.append(f"back-arrow: {unit} ({mine[1]}) includes {dep} ({theirs[1]})")
    return out


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


def check(graph, layers):
    """One message per cycle and per back-arrow."""
    errors = [f"include cycle: {' <-> '.join(sorted(c))}" for c in cycles(graph)]
    return errors + back_arrows(graph, layers)


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
        layers = [("engine/a", 1, "top"), ("engine/", 0, "rest")]
        errors = check(units(root, ["engine"]), layers)
        want = ["include cycle: engine/a <-> engine/b <-> engine/c",
                "back-arrow: engine/c (rest) includes engine/a (top)"]
        if errors != want:
            print(f"self-test: --check reported {errors}, want {want}", file=sys.stderr)
            return 1
    print("self-test: a three-unit cycle and a back-arrow are found and fail --check")
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
    errors = check(graph, LAYERS)
    for line in errors:
        print(line, file=sys.stderr if args.check else sys.stdout)
    print(f"{len(graph)} units in {', '.join(FOLDERS)}: {len(errors)} cycles and back-arrows")
    return 1 if errors and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
