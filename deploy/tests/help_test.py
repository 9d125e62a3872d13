#!/usr/bin/python3
"""Every program's --help is useful: it exits 0 and prints the usage and the program's own flags.

absl's own --help lists only flags defined in a file named after the program, so ours (kept in
options and flags files) printed "No flags matched." and exited 1. base/program_flags.h fixes
that; this checks each program as an operator would run it.

  help_test.py --bin NAME=PATH:FLAG ...   (FLAG: one flag the program must list)
"""
import argparse
import re
import subprocess
import sys


def check(name, path, flag):
    r = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=60)
    problems = []
    if r.returncode != 0:
        problems.append(f"exit code {r.returncode}")
    flags = re.findall(r"^\s+--(\w+) \(", r.stdout, re.MULTILINE)
    if flag not in flags:
        problems.append(f"--{flag} is not listed (listed: {', '.join(flags) or 'none'})")
    if "flagfile" in flags:
        problems.append("absl's own flags are listed (they belong to --helpfull)")
    if not r.stdout.strip() or r.stdout.lstrip().startswith("--"):
        problems.append("no usage line before the flags")
    full = subprocess.run([path, "--helpfull"], capture_output=True, text=True, timeout=60)
    if "--flagfile" not in full.stdout + full.stderr:
        problems.append("--helpfull no longer lists absl's flags")
    return [f"{name} --help: {p}" for p in problems]


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", default=[], help="NAME=PATH:FLAG")
    args = ap.parse_args(argv)
    problems = []
    for b in args.bin:
        name, rest = b.split("=", 1)
        path, flag = rest.rsplit(":", 1)
        problems += check(name, path, flag)
    for p in problems:
        print(p)
    print(f"{len(args.bin)} programs checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
