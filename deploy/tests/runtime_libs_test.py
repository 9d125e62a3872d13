#!/usr/bin/python3
"""The Dockerfile's runtime stage installs every shared library the built programs load.

For each program, `ldd` lists the libraries it resolves here (Debian 12, the same packages the
image's build stage installs); dpkg's file lists name the package of each; that package must be among
the runtime stage's apt-get packages or their dependencies (`apt-cache depends --recurse`,
Depends and PreDepends only). No Docker engine needed.

  runtime_libs_test.py --dockerfile FILE --stage runtime BIN... | --skip REASON
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import live  # noqa: E402
from check_dockerfile import dockerfile_stages  # noqa: E402


def runtime_packages(dockerfile, stage):
    with open(dockerfile, encoding="utf-8") as f:
        stages = dict(dockerfile_stages(f.read()))
    pkgs = []
    for instr, arg in stages[stage]:
        if instr == "RUN":
            for m in re.finditer(r"apt-get install ([^&;]*)", arg):
                pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def closure(pkgs):
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                        "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *pkgs],
                       capture_output=True, text=True, timeout=300)
    names = set()
    for line in r.stdout.splitlines():
        line = line.strip().lstrip("|")
        m = re.match(r"(?:(?:Pre)?Depends:\s*)?<?([\w.+-]+(?::\w+)?)>?$", line)
        if m:
            names.add(m.group(1).split(":")[0])
    return names


def libraries(binary):
    r = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=60)
    libs, missing = [], []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            (missing if m.group(2) == "not" else libs).append(m.group(2) if m.group(2) != "not" else m.group(1))
    return libs, missing


def file_owners():
    """{path: package} for every file dpkg installed (one read of its lists: dpkg -S per file
    would take minutes for libtorch's ~250 libraries)."""
    owners = {}
    info = "/var/lib/dpkg/info"
    for name in os.listdir(info):
        if name.endswith(".list"):
            pkg = name[:-5].split(":")[0]
            with open(os.path.join(info, name), encoding="utf-8", errors="replace") as f:
                for line in f:
                    owners[line.rstrip("\n")] = pkg
    return owners


def owner(path, owners):
    """The package of `path`, trying its real path and the /lib <-> /usr/lib merged-usr twins."""
    for p in (path, os.path.realpath(path)):
        for q in (p, p.replace("/usr/lib/", "/lib/", 1), p.replace("/lib/", "/usr/lib/", 1)):
            if q in owners:
                return owners[q]
    return None


def main(argv):
    live.skip_if_asked(argv)
    ap = argparse.ArgumentParser()
    ap.add_argument("--dockerfile", required=True)
    ap.add_argument("--stage", default="runtime")
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args(argv)
    if not (shutil.which("dpkg") and shutil.which("apt-cache")):
        print("SKIP: needs dpkg and apt-cache (Debian)")
        return live.SKIP
    binaries = [b for b in args.binaries if os.path.exists(b)]
    for b in sorted(set(args.binaries) - set(binaries)):
        print(f"note: {b} does not exist (target not built in this tree)")
    if not binaries:
        print("SKIP: none of the programs is built")
        return live.SKIP
    pkgs = runtime_packages(args.dockerfile, args.stage)
    if not pkgs:
        print(f"FAIL {args.dockerfile}: stage {args.stage} installs no packages", file=sys.stderr)
        return 1
    have = closure(pkgs) | set(pkgs)
    owners = file_owners()
    problems = []
    needed = set()
    for b in binaries:
        libs, missing = libraries(b)
        for m in missing:
            problems.append(f"{b}: ldd cannot resolve {m} here")
        for lib in libs:
            pkg = owner(lib, owners)
            if pkg is None:
                # Built by the project itself (none should be shared) or installed outside dpkg.
                problems.append(f"{b}: {lib} belongs to no Debian package; the image would lack it")
                continue
            needed.add(pkg)
            if pkg not in have:
                problems.append(f"{os.path.basename(b)} needs {lib} from package {pkg}, "
                                f"which the {args.stage} stage does not install")
    for p in sorted(set(problems)):
        print("FAIL", p, file=sys.stderr)
    if not problems:
        print(f"{len(needed)} packages needed by {len(binaries)} programs, all in the "
              f"{args.stage} stage's {len(pkgs)} packages and their dependencies")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
