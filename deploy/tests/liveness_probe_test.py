#!/usr/bin/python3
"""The probes the deployment files define fail when gRPC 1.51 stops accepting connections
(CVE-2023-4785), and trm-server's watchdog ends such a process before they have to.

A burst of idle HTTP/2 connections past the open-file limit (trm-server under
`prlimit --nofile=256:256`, where raising the soft limit cannot help) leaves gRPC 1.51's
listener dead for good. With the watchdog off, the test then runs the Kubernetes livenessProbe
of every Deployment in deploy/k8s (a grpc.health.v1 Check on a new connection, as the kubelet
makes it, with the probe's timeoutSeconds) and the image's HEALTHCHECK command from the
Dockerfile, `failureThreshold` / `--retries` times each: every one must fail, so Kubernetes
restarts the container and Docker marks it unhealthy. Before the burst the same probes pass. With
the watchdog on, the same burst makes the process exit with status 3 within the watchdog's
bound, which compose's restart policy (and Kubernetes') turns into a restart.

  liveness_probe_test.py --server BIN --client BIN --init BIN --source DIR | --skip REASON
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import live  # noqa: E402
from check_dockerfile import dockerfile_stages  # noqa: E402

LIMIT = 256
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + SETTINGS


def liveness_probes(k8s_dir):
    """[(where, timeoutSeconds, failureThreshold)] of every Deployment's gRPC livenessProbe."""
    out = []
    for name in sorted(os.listdir(k8s_dir)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(k8s_dir, name), encoding="utf-8") as f:
            for d in yaml.safe_load_all(f):
                if not d or d.get("kind") != "Deployment":
                    continue
                for c in d["spec"]["template"]["spec"]["containers"]:
                    p = c.get("livenessProbe", {})
                    if "grpc" in p:
                        out.append((f"{name} {d['metadata']['name']}", p.get("timeoutSeconds", 1),
                                    p.get("failureThreshold", 3)))
    return out


def healthcheck(src):
    """(argv, retries) of the runtime image's HEALTHCHECK CMD."""
    with open(os.path.join(src, "Dockerfile"), encoding="utf-8") as f:
        stages = dict(dockerfile_stages(f.read()))
    for instr, arg in stages["runtime"]:
        if instr == "HEALTHCHECK":
            retries = int(re.search(r"--retries=(\d+)", arg).group(1))
            return json.loads(arg[arg.index("["):]), retries
    raise RuntimeError("Dockerfile runtime stage has no HEALTHCHECK")


def probe_argv(argv, client, address):
    """The HEALTHCHECK's command aimed at the test server."""
    out = [client if a == "trm-client" else a for a in argv]
    return [f"--target={address}" if a.startswith("--target=") else a for a in out]


def kubelet_probe(client, address, timeout_s):
    """A Check on a new connection with the probe's timeout: trm-client health is a new process."""
    return run([client, "health", f"--target={address}", f"--timeout_s={timeout_s}"], timeout_s)


def run(argv, timeout_s):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s + 10)
        return r.returncode == 0, (r.stdout + r.stderr).strip()[:120]
    except subprocess.TimeoutExpired:
        return False, "timed out"


def kill_the_listener(server):
    """Idle connections past the limit until gRPC logs the failed accept4(), then closed."""
    conns = []
    try:
        for _ in range(LIMIT + 64):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            s.sendall(PREFACE)
            conns.append(s)
        deadline = time.time() + 60
        while time.time() < deadline:
            if "Too many open files" in server.tail(400):
                return
            time.sleep(0.1)
        raise RuntimeError("the burst did not exhaust the server's descriptors:\n" + server.tail())
    finally:
        for s in conns:
            s.close()


def main(argv):
    live.skip_if_asked(argv)
    args = live.program_args(argv)
    if not os.access("/usr/bin/prlimit", os.X_OK):
        print("SKIP: /usr/bin/prlimit not found (util-linux)")
        return live.SKIP
    probes = liveness_probes(os.path.join(args.source, "deploy", "k8s"))
    check_argv, retries = healthcheck(args.source)
    problems = []
    if not probes:
        problems.append("no Deployment has a gRPC livenessProbe")
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = live.make_checkpoint(args.init, tmp)
        wrapped = os.path.join(tmp, "trm-server-limited")
        with open(wrapped, "w") as f:
            f.write(f"#!/bin/sh\nexec /usr/bin/prlimit --nofile={LIMIT}:{LIMIT} -- {args.server} \"$@\"\n")
        os.chmod(wrapped, 0o755)

        # The gRPC connection budget keeps a burst from reaching EMFILE (issue 34); these probes are
        # about a listener that did, so the budget is set past the limit to let the burst through.
        no_budget = ["--grpc_max_connections=100000"]

        # 1. Watchdog off: the probes pass, the burst kills the listener, the probes fail.
        server = live.Server(wrapped, ckpt, os.path.join(tmp, "off.log"),
                             ["--watchdog_interval_s=0"] + no_budget)
        try:
            server.wait_serving()
            healthcheck_cmd = probe_argv(check_argv, args.client, server.address())
            for where, timeout_s, _ in probes:
                ok, out = kubelet_probe(args.client, server.address(), timeout_s)
                if not ok:
                    problems.append(f"{where}: livenessProbe fails on a healthy server: {out}")
            ok, out = run(healthcheck_cmd, 30)
            if not ok:
                problems.append(f"HEALTHCHECK fails on a healthy server: {out}")
            kill_the_listener(server)
            for where, timeout_s, threshold in probes:
                results = [kubelet_probe(args.client, server.address(), timeout_s) for _ in range(threshold)]
                passed = [out for ok, out in results if ok]
                print(f"{where}: livenessProbe failed {threshold - len(passed)} of {threshold} "
                      f"(timeout {timeout_s} s): {results[-1][1]}")
                if passed:
                    problems.append(f"{where}: livenessProbe passed on a server that accepts nothing")
            results = [run(healthcheck_cmd, 30) for _ in range(retries)]
            print(f"HEALTHCHECK failed {sum(not ok for ok, _ in results)} of {retries}: {results[-1][1]}")
            if any(ok for ok, _ in results):
                problems.append("HEALTHCHECK passed on a server that accepts nothing")
        finally:
            server.stop()

        # 2. Watchdog on (1 s, 2 failures): the process exits 3 by itself.
        server = live.Server(wrapped, ckpt, os.path.join(tmp, "on.log"),
                             ["--watchdog_interval_s=1", "--watchdog_failures=2", "--drain_timeout_s=1"]
                             + no_budget)
        try:
            server.wait_serving()
            kill_the_listener(server)
            t0 = time.time()
            try:
                code = server.proc.wait(timeout=60)
                print(f"watchdog on: exited {code} {time.time() - t0:.1f} s after the burst closed")
                if code != 3:
                    problems.append(f"watchdog on: exit status {code}, want 3:\n{server.tail()}")
            except subprocess.TimeoutExpired:
                problems.append(f"watchdog on: still running 60 s after the burst:\n{server.tail()}")
        finally:
            server.stop()
    for p in problems:
        print("FAIL", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
