#!/usr/bin/python3
"""Checks that the dashboards and alert rules name only metrics of the contract.

Every metric a Grafana query or a Prometheus rule names must be listed in docs/metrics.md and,
when a live server's /metrics text is given (--exported), be one the server exports. Histogram
series (_bucket, _sum, _count) count as their family. Exit status 0 when all is well, 1 with a
list of the names at fault (and the file that names them) otherwise.

  metric_names.py --docs docs/metrics.md --dashboards deploy/grafana/dashboards \
      --rules deploy/prometheus/alerts.yml [--exported metrics.txt]
"""
import argparse
import glob
import json
import os
import re
import sys

import yaml

# Series Prometheus makes itself for every target.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "offset", "bool", "inf", "nan", "atan2"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
IDENT = re.compile(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)")


def promql_metric_names(expr):
    """The metric names a PromQL expression (Grafana variables allowed) refers to."""
    names = set()
    # label_values(metric, label) in Grafana variable queries.
    for m in re.finditer(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,", expr):
        names.add(m.group(1))
    expr = re.sub(r"label_values\([^)]*\)", " ", expr)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', " ", expr)  # strings
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # ranges and subqueries
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\{?\w+\}?", " ", expr)  # remaining Grafana variables
    for m in IDENT.finditer(expr):
        word = m.group(1)
        rest = expr[m.end():].lstrip()
        if rest.startswith("("):  # a function or an aggregation
            continue
        if word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def documented_metrics(docs_path):
    """{name: type} from the table of docs/metrics.md."""
    metrics = {}
    with open(docs_path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 2:
                continue
            for name in re.findall(r"`([a-zA-Z_:][\w:]*)`", cells[0]):
                metrics[name] = cells[1]
    return metrics


def exported_families(metrics_text):
    """{family: type} from the `# TYPE` lines of a Prometheus text exposition."""
    families = {}
    for line in metrics_text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "#" and parts[1] == "TYPE":
            families[parts[2]] = parts[3]
    return families


def resolve(name, known):
    """The family in `known` ({name: type}) that series `name` belongs to, or None."""
    if name in known:
        return name
    for suffix in HISTOGRAM_SUFFIXES:
        base = name[: -len(suffix)] if name.endswith(suffix) else None
        if base and base in known and "histogram" in known[base]:
            return base
    return None


def dashboard_exprs(path):
    """(where, expr) for every query and variable query of a Grafana dashboard JSON file."""
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)  # raises on bad JSON: the caller reports the file
    out = []

    def panels(items):
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    for p in panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            if t.get("expr"):
                out.append((f"{path}: panel '{p.get('title')}' {t.get('refId')}", t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if v.get("type") == "query" and q:
            out.append((f"{path}: variable '{v.get('name')}'", q))
    return out


def rule_exprs(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    out = []
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            out.append((f"{path}: rule '{r.get('alert') or r.get('record')}'", r["expr"]))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", required=True)
    ap.add_argument("--dashboards", required=True, help="folder of dashboard .json files")
    ap.add_argument("--rules", action="append", default=[])
    ap.add_argument("--exported", help="a /metrics text file from a live server")
    args = ap.parse_args(argv)

    documented = documented_metrics(args.docs)
    if not documented:
        print(f"{args.docs}: no metrics table found", file=sys.stderr)
        return 1
    exprs = []
    files = sorted(glob.glob(os.path.join(args.dashboards, "*.json")))
    if not files:
        print(f"{args.dashboards}: no dashboard .json files", file=sys.stderr)
        return 1
    for path in files:
        try:
            exprs += dashboard_exprs(path)
        except json.JSONDecodeError as e:
            print(f"{path}: not valid JSON: {e}", file=sys.stderr)
            return 1
    for path in args.rules:
        exprs += rule_exprs(path)

    exported = None
    if args.exported:
        with open(args.exported, encoding="utf-8") as f:
            exported = exported_families(f.read())
        if not exported:
            print(f"{args.exported}: no '# TYPE' lines: not a metrics exposition", file=sys.stderr)
            return 1

    problems = []
    used = set()
    for where, expr in exprs:
        names = promql_metric_names(expr)
        if not names:
            problems.append(f"{where}: names no metric: {expr!r}")
        for name in sorted(names - SYNTHETIC):
            family = resolve(name, documented)
            if family is None:
                problems.append(f"{where}: '{name}' is not in {args.docs}")
                continue
            used.add(family)
            if exported is not None and resolve(name, exported) is None:
                problems.append(f"{where}: '{name}' is not exported by the live server")
    if exported is not None:
        # The contract the other way: every documented family is exported.
        for name in sorted(documented):
            if resolve(name, exported) is None:
                problems.append(f"{args.docs}: '{name}' is documented but the live server does not export it")
            elif exported.get(name) and documented[name].split()[0].split("/")[0] not in exported[name] \
                    and "/" not in documented[name]:
                problems.append(f"{args.docs}: '{name}' is documented as '{documented[name]}' "
                                f"but exported as '{exported[name]}'")

    print(f"{len(exprs)} queries, {len(used)} metric families used, {len(documented)} documented"
          + (f", {len(exported)} exported" if exported is not None else ""))
    for p in problems:
        print("FAIL", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
