#!/usr/bin/python3
"""Every flag the deployment files pass to a program is a flag that program defines.

Collects the --flags given to trm-server (Dockerfile CMD, docker-compose command, Kubernetes
args), to trm-client (the HEALTHCHECK) and to trm-train (the compose training profiles, the
Kubernetes training jobs in deploy/k8s/train), and
looks each up in the program's `--helpfull` (absl). A renamed flag would otherwise surface only
when a container fails to start.

  server_flags_test.py --source DIR --bin NAME=PATH ... | --skip REASON
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import live  # noqa: E402
from check_dockerfile import dockerfile_stages  # noqa: E402


def flag_names(args):
    return {m.group(1) for a in args for m in [re.match(r"--([A-Za-z_][\w]*)", a)] if m}


def used_flags(src):
    """{program: {flag: [where, ...]}} from Dockerfile, compose and Kubernetes."""
    used = {}

    def add(prog, flags, where):
        for f in flags:
            used.setdefault(prog, {}).setdefault(f, []).append(where)

    with open(os.path.join(src, "Dockerfile"), encoding="utf-8") as f:
        for name, body in dockerfile_stages(f.read()):
            entry = [a for i, a in body if i == "ENTRYPOINT"]
            for instr, arg in body:
                if instr in ("CMD", "HEALTHCHECK") and "[" in arg:
                    argv = json.loads(arg[arg.index("["):])
                    prog = argv[0] if instr == "HEALTHCHECK" or not entry else json.loads(entry[-1])[0]
                    add(prog, flag_names(argv), f"Dockerfile {name} {instr}")
    with open(os.path.join(src, "docker-compose.yml"), encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    for sname, svc in compose["services"].items():
        if not str(svc.get("image", "")).startswith("trm-serve"):
            continue
        prog = (svc.get("entrypoint") or ["trm-server"])[0]
        add(prog, flag_names(svc.get("command", [])), f"docker-compose.yml {sname}")
    for path in glob.glob(os.path.join(src, "deploy", "k8s", "**", "*.yaml"), recursive=True):
        with open(path, encoding="utf-8") as f:
            for d in yaml.safe_load_all(f):
                for c in containers(d):
                    prog = (c.get("command") or ["trm-server"])[0]
                    add(prog, flag_names(c.get("args", [])),
                        os.path.relpath(path, os.path.join(src, "deploy", "k8s")))
    return used


def containers(doc):
    """The containers of a Deployment, a Job or a PyTorchJob (each replica type)."""
    if not doc:
        return []
    kind, spec = doc.get("kind"), doc.get("spec", {})
    if kind in ("Deployment", "Job"):
        return spec["template"]["spec"]["containers"]
    if kind == "PyTorchJob":
        return [c for r in spec["pytorchReplicaSpecs"].values() for c in r["template"]["spec"]["containers"]]
    return []


def defined_flags(binary):
    r = subprocess.run([binary, "--helpfull"], capture_output=True, text=True, timeout=60)
    return set(re.findall(r"^\s+--(\w+) \(", r.stdout + r.stderr, re.MULTILINE))


def main(argv):
    live.skip_if_asked(argv)
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--bin", action="append", default=[], help="NAME=PATH")
    args = ap.parse_args(argv)
    bins = {}
    for b in args.bin:
        name, path = b.split("=", 1)
        if os.path.exists(path):
            bins[name] = path
        else:
            print(f"note: {path} does not exist (target not built in this tree)")
    if not bins:
        print("SKIP: none of the programs is built")
        return live.SKIP
    problems = []
    checked = 0
    for prog, flags in sorted(used_flags(args.source).items()):
        if prog not in bins:
            print(f"note: {prog} is not built; its flags {sorted(flags)} are not checked")
            continue
        defined = defined_flags(bins[prog])
        if not defined:
            problems.append(f"{prog} --helpfull lists no flags")
            continue
        for flag, where in sorted(flags.items()):
            checked += 1
            if flag not in defined:
                problems.append(f"{prog} has no flag --{flag} (used in {', '.join(sorted(set(where)))})")
    for p in problems:
        print("FAIL", p, file=sys.stderr)
    if not problems:
        print(f"{checked} flags checked against the programs' --helpfull")
    return 1 if problems or not checked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
