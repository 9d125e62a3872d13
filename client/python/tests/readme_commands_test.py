#!/usr/bin/python3
"""ctest python_readme_commands: the Python install and usage lines of README.md and
client/python/README.md, run as written, with a python3 on PATH that is not Debian's.

A developer's first python3 is often pyenv's or conda's, which cannot see Debian's python3-grpcio
(and whose pip fails with "invalid command 'bdist_wheel'"). Here PATH starts with a python3 (and
pip, pip3) that refuses to run, so a command that relies on PATH's python fails. Only the venv
folders (/tmp/trm, /tmp/trm-venv) move into a temporary folder and localhost:50051 becomes a live
trm-server on a free port; the commands run in a copy of the source folders they read.

  client/python/tests/readme_commands_test.py --server build/server/trm-server --source .
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "deploy", "tests"))
import live  # noqa: E402

DECOY = """#!/bin/sh
echo "$(basename "$0") from PATH: a stand-in for a pyenv/conda python, which has no Debian packages" >&2
exit 97
"""


def sh_blocks(path):
    with open(path, encoding="utf-8") as f:
        return re.findall(r"```sh\n(.*?)```", f.read(), re.S)


def python_lines(block):
    return [line for line in block.splitlines() if "python" in line or "pip" in line]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    source = args.source
    readme = [b for b in sh_blocks(os.path.join(source, "README.md")) if "trm_serve" in b]
    package = [b for b in sh_blocks(os.path.join(source, "client", "python", "README.md"))
               if "venv" in b]
    assert readme, "README.md: no sh block with the trm_serve commands"
    assert package, "client/python/README.md: no sh block with the venv commands"
    commands = python_lines(readme[0]) + python_lines(package[0])

    work = tempfile.mkdtemp(prefix="trm_readme_py_")
    failures = 0
    server = None
    try:
        repo = os.path.join(work, "repo")
        for folder in ("client/python", "proto"):
            shutil.copytree(os.path.join(source, folder), os.path.join(repo, folder),
                            ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        decoy = os.path.join(work, "decoy")
        os.makedirs(decoy)
        for name in ("python3", "python", "pip", "pip3"):
            with open(os.path.join(decoy, name), "w") as f:
                f.write(DECOY)
            os.chmod(os.path.join(decoy, name), 0o755)
        env = dict(os.environ, PATH=f"{decoy}:/usr/local/bin:/usr/bin:/bin",
                   PYTHONDONTWRITEBYTECODE="1")
        env.pop("VIRTUAL_ENV", None)
        assert subprocess.run(["python3", "-c", "pass"], env=env, capture_output=True).returncode == 97

        server = live.Server(args.server, os.path.join(source, "checkpoints", "sudoku"),
                             os.path.join(work, "server.log"))
        server.wait_serving()
        for command in commands:
            run = (command.replace("/tmp/trm-venv", f"{work}/trm-venv")
                          .replace("/tmp/trm", f"{work}/trm")
                          .replace("localhost:50051", server.address()))
            r = subprocess.run(["bash", "-c", run], cwd=repo, env=env, capture_output=True,
                               text=True, timeout=240)
            ok = r.returncode == 0 and ("trm_serve.Client" not in command or "verification='verified'" in r.stdout)
            print(f"{'ok  ' if ok else 'FAIL'} - {command}")
            if not ok:
                failures += 1
                print(f"  exit {r.returncode}\n  stdout: {r.stdout[-1500:]}\n  stderr: {r.stderr[-1500:]}")
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{failures} README command(s) failed")
        return 1
    print(f"all {len(commands)} README commands passed with a non-Debian python3 first on PATH")
    return 0


if __name__ == "__main__":
    sys.exit(main())
