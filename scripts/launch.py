#!/usr/bin/python3
"""Starts N ranks of a program on this machine with torchrun's environment, like
`torchrun --standalone --nproc_per_node=N --no-python PROG ARGS...` (Debian 12's torchrun 1.13
cannot: it dies in start_processes). No rendezvous or collective of its own: each rank is given
RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT (and
OMP_NUM_THREADS=1 when unset and N > 1, as torchrun) and the program joins the group itself.

  scripts/launch.py --nproc_per_node 2 build/train/trm-train --preset sudoku_small --out_dir runs/s
  scripts/launch.py --nnodes 2 --node_rank 0 --master_addr HOST0 --master_port 29500 \\
      --nproc_per_node 1 build/train/trm-train ...          # on each machine, its --node_rank

Every line a rank prints comes out prefixed "[rankR]: " (stdout to stdout, stderr to stderr).
When a rank fails (non-zero exit or a signal) the others are stopped (SIGTERM, then SIGKILL after
--stop_grace_s) and the launcher exits with the failed rank's code (128 + signal when killed),
after a line naming it. SIGINT / SIGTERM to the launcher go to every rank.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time


def free_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def describe(code):
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def pump(stream, out, prefix, lock):
    for line in iter(stream.readline, b""):
        with lock:
            out.buffer.write(prefix + line if line.endswith(b"\n") else prefix + line + b"\n")
            out.flush()
    stream.close()


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nproc_per_node", "--nproc-per-node", type=int, default=1)
    ap.add_argument("--nnodes", type=int, default=1)
    ap.add_argument("--node_rank", "--node-rank", type=int, default=0)
    ap.add_argument("--master_addr", "--master-addr", default="127.0.0.1")
    ap.add_argument("--master_port", "--master-port", type=int, default=0,
                    help="0: a free port (one machine only)")
    ap.add_argument("--stop_grace_s", type=float, default=10.0,
                    help="after SIGTERM, seconds before SIGKILL")
    ap.add_argument("--standalone", action="store_true", help="accepted for torchrun compatibility")
    ap.add_argument("--no_python", "--no-python", action="store_true",
                    help="accepted for torchrun compatibility (the program always runs as is)")
    ap.add_argument("program")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args()

    if a.nproc_per_node < 1 or a.nnodes < 1 or not 0 <= a.node_rank < a.nnodes:
        ap.error(f"need --nproc_per_node >= 1, --nnodes >= 1 and 0 <= --node_rank < --nnodes "
                 f"(got {a.nproc_per_node}, {a.nnodes}, {a.node_rank})")
    if a.nnodes > 1 and a.master_port == 0:
        ap.error("--nnodes > 1 needs --master_port (the same on every machine)")
    port = a.master_port or free_port(a.master_addr)
    world = a.nnodes * a.nproc_per_node
    lock = threading.Lock()
    procs, pumps = [], []
    for local in range(a.nproc_per_node):
        rank = a.node_rank * a.nproc_per_node + local
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(local),
                   LOCAL_WORLD_SIZE=str(a.nproc_per_node), GROUP_RANK=str(a.node_rank),
                   GROUP_WORLD_SIZE=str(a.nnodes), MASTER_ADDR=a.master_addr,
                   MASTER_PORT=str(port))
        if a.nproc_per_node > 1:
            env.setdefault("OMP_NUM_THREADS", "1")
        try:
            p = subprocess.Popen([a.program] + a.args, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            print(f"launch: cannot start {a.program}: {e}", file=sys.stderr)
            for q in procs:
                q.kill()
            return 127
        procs.append((rank, p))
        prefix = f"[rank{rank}]: ".encode()
        for stream, out in ((p.stdout, sys.stdout), (p.stderr, sys.stderr)):
            t = threading.Thread(target=pump, args=(stream, out, prefix, lock), daemon=True)
            t.start()
            pumps.append(t)
    with lock:
        print(f"launch: {len(procs)} of {world} ranks on {a.master_addr}:{port}: " +
              ", ".join(f"rank {r} pid {p.pid}" for r, p in procs), file=sys.stderr, flush=True)

    def stop(others, sig):
        for _, p in others:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    pass

    def forward(signum, _frame):
        stop(procs, signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)

    exit_code = 0
    running = list(procs)
    while running:
        time.sleep(0.05)
        for rank, p in list(running):
            code = p.poll()
            if code is None:
                continue
            running.remove((rank, p))
            if code != 0 and exit_code == 0:
                exit_code = code if code > 0 else 128 - code
                others = [(r, q) for r, q in running]
                with lock:
                    print(f"launch: rank {rank} (pid {p.pid}) {describe(code)}; "
                          f"stopping {', '.join(f'rank {r}' for r, _ in others) or 'nothing'}",
                          file=sys.stderr, flush=True)
                stop(others, signal.SIGTERM)
                deadline = time.monotonic() + a.stop_grace_s
                while any(q.poll() is None for _, q in others) and time.monotonic() < deadline:
                    time.sleep(0.05)
                stop(others, signal.SIGKILL)
    for t in pumps:
        t.join(timeout=5)
    if exit_code:
        print(f"launch: failed with exit code {exit_code}", file=sys.stderr, flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
