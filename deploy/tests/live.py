"""Helpers for the deploy tests that run real trm-server processes on loopback: free ports, a
small random-init checkpoint from trm-init-checkpoint, start / health / stop, and /metrics.

A test given --skip REASON (CMake passes it when a program is not built) prints the reason and
exits 77, which ctest reports as skipped (SKIP_RETURN_CODE 77)."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

SKIP = 77
# The flag trm-client takes for the server address.
CLIENT_TARGET_FLAG = "--target"
# A real puzzle (the first of the classic "hardest" collections); the checkpoint is random, so
# only the mechanics are tested, not the answer.
SUDOKU = "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4.."


def skip_if_asked(argv):
    if "--skip" in argv:
        reason = argv[argv.index("--skip") + 1]
        print(f"SKIP: {reason}")
        sys.exit(SKIP)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_checkpoint(init_bin, root, name="sudoku"):
    """A tiny random-init sudoku checkpoint in root/name; returns root (a --checkpoints dir)."""
    out = os.path.join(root, name)
    cmd = [init_bin, "--task=sudoku", "--hidden=32", "--heads=2", "--h_cycles=1", "--l_cycles=1",
           "--layers=2", f"--out={out}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return root


def fetch_metrics(port, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        return r.read().decode("utf-8")


def sample_sum(text, name, **labels):
    """Sum of the samples of `name` whose labels include `labels` (text exposition)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(4))
    return total


class Server:
    """One trm-server process on 127.0.0.1 with its own gRPC and metrics ports."""

    def __init__(self, server_bin, checkpoints, log_path, extra=()):
        self.port = free_port()
        self.metrics_port = free_port()
        self.log_path = log_path
        self.cmd = [server_bin, f"--listen=127.0.0.1:{self.port}",
                    f"--metrics_listen=127.0.0.1:{self.metrics_port}",
                    f"--checkpoints={checkpoints}", *extra]
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def address(self):
        return f"127.0.0.1:{self.port}"

    def wait_serving(self, timeout=90):
        """Until /metrics reports trm_health_serving 1; raises with the server's log if not."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"trm-server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if sample_sum(fetch_metrics(self.metrics_port, timeout=2), "trm_health_serving") >= 1:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"trm-server not SERVING after {timeout} s:\n{self.tail()}")

    def metrics(self):
        return fetch_metrics(self.metrics_port)

    def tail(self, n=40):
        self.log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def stop(self, timeout=30):
        """SIGTERM (graceful drain); returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def start_client(client_bin, args):
    """trm-client running in the background; communicate() collects its output."""
    return subprocess.Popen([client_bin, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def run_client(client_bin, args, timeout=120):
    r = subprocess.run([client_bin, *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


if __name__ == "__main__":
    skip_if_asked(sys.argv)
    print("usage: live.py --skip REASON", file=sys.stderr)
    sys.exit(2)
