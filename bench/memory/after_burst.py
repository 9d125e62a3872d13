#!/usr/bin/python3
"""Resident memory of trm-server before, during and after hostile bursts, under each allocator.

Not a test: it measures, for docs/reliability.md ("Memory after bursts"), how much memory the
server keeps after a burst with glibc's malloc alone, with trm-server's periodic malloc_trim
(--malloc_trim_interval_s), and with Debian's jemalloc (libjemalloc2) and tcmalloc
(libtcmalloc-minimal4) preloaded. Variants run alternately, each on a fresh server.

  bench/memory/after_burst.py --server build/server/trm-server --init build/model/trm-init-checkpoint \
      [--rounds 2] [--resets 20000]

Bursts, one server each: (ids) 20 concurrent Solve calls carrying a 15 MiB request_id (refused by
the length cap after the whole message was received); (resets) HEADERS+RST_STREAM pairs on one
connection; (load) 2,000 ordinary Solve calls from 16 callers, whose wall time is also reported.
"""
import argparse
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import grpc

# trm-server trims every 10 s by default: off for all but the trimming variant.
NO_TRIM = ["--malloc_trim_interval_s=0"]
VARIANTS = {
    "glibc": (NO_TRIM, {}),
    "glibc+trim": (["--malloc_trim_interval_s=1"], {}),
    "jemalloc": (NO_TRIM, {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}),
    "tcmalloc": (NO_TRIM, {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"}),
}
SUDOKU = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def solve_request(request_id=b""):
    """trm.v1.SolveRequest{sudoku: SUDOKU, request_id}, encoded by hand (fields 2 and 7)."""
    body = b"\x12" + varint(len(SUDOKU)) + SUDOKU.encode()
    if request_id:
        body += b"\x3a" + varint(len(request_id)) + request_id
    return body


class Server:
    def __init__(self, binary, checkpoints, flags, env, log_path):
        self.log_path = log_path
        e = dict(os.environ)
        e.update(env)
        self.proc = subprocess.Popen(
            [binary, "--listen=127.0.0.1:0", "--metrics_listen=", "--device=cpu", "--threads=1",
             f"--checkpoints={checkpoints}", "--watchdog_interval_s=0", *flags],
            stdout=open(log_path, "w"), stderr=subprocess.STDOUT, env=e)
        for _ in range(1200):
            log = open(log_path).read()
            if " SERVING" in log:
                self.port = int(re.search(r"listening on [0-9.]+:(\d+)", log).group(1))
                return
            time.sleep(0.05)
        raise RuntimeError("server did not start: " + open(log_path).read()[-500:])

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return -1

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, quiet_s=1.0, limit_s=300):
        """Until the process used under 2% of a core for `quiet_s`."""
        end = time.time() + limit_s
        while time.time() < end:
            c0 = self.cpu_s()
            time.sleep(quiet_s)
            if self.cpu_s() - c0 < 0.02 * quiet_s:
                return
        raise RuntimeError("server never went idle")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class PeakSampler(threading.Thread):
    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.peak, self.done = server, 0.0, False

    def run(self):
        while not self.done:
            self.peak = max(self.peak, self.server.rss_mib())
            time.sleep(0.05)


def in_threads(n, fn):
    """Runs `fn` on `n` threads at once and waits for all."""
    threads = [threading.Thread(target=fn) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def burst_ids(server):
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}",
                                    options=[("grpc.max_send_message_length", 32 << 20),
                                             ("grpc.max_receive_message_length", 32 << 20)])
    call = channel.unary_unary("/trm.v1.Solver/Solve")
    payload = solve_request(b"i" * (15 << 20))
    codes = []

    def one():
        try:
            call(payload, timeout=120)
            codes.append("OK")
        except grpc.RpcError as e:
            codes.append(e.code().name)
    in_threads(20, one)
    channel.close()
    return f"{len(codes)} calls: " + ", ".join(sorted(set(codes)))


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name, value):
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def burst_resets(server, resets):
    block = b"".join(literal(n, v) for n, v in [
        (b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/trm.v1.Solver/Solve"),
        (b":authority", b"127.0.0.1"), (b"content-type", b"application/grpc"), (b"te", b"trailers")])
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0))
    stop = threading.Event()

    def drain():
        s.settimeout(0.2)
        while not stop.is_set():
            try:
                if not s.recv(1 << 16):
                    return
            except socket.timeout:
                pass
            except OSError:
                return
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stream = 1
    for _ in range(resets // 100):
        out = bytearray()
        for _ in range(100):
            out += frame(1, 4, stream, block) + frame(3, 0, stream, struct.pack(">I", 8))
            stream += 2
        s.sendall(bytes(out))
    stop.set()
    reader.join()
    s.close()
    return f"{resets} HEADERS+RST_STREAM pairs"


def burst_load(server):
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    call = channel.unary_unary("/trm.v1.Solver/Solve")
    payload = solve_request()
    per_thread, ok = 125, []
    t0 = time.time()

    def worker():
        n = 0
        for _ in range(per_thread):
            try:
                call(payload, timeout=120)
                n += 1
            except grpc.RpcError:
                pass
        ok.append(n)
    in_threads(16, worker)
    channel.close()
    return f"{sum(ok)} of 2000 OK in {time.time() - t0:.1f} s"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--init", required=True)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--resets", type=int, default=20000)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--bursts", default="ids,resets,load")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "ckpt")
        subprocess.run([a.init, "--task=sudoku", "--hidden=32", "--heads=2", "--h_cycles=1",
                        "--l_cycles=1", "--layers=2", "--halt_max_steps=8",
                        f"--out={ckpt}/sudoku"], check=True, capture_output=True)
        bursts = [(n, b) for n, b in [("ids", burst_ids),
                                      ("resets", lambda s: burst_resets(s, a.resets)),
                                      ("load", burst_load)] if n in a.bursts.split(",")]
        print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
              f"{os.getloadavg()[0]:.1f}; RSS in MiB: before, peak, after idle + 2 s, after idle + 12 s")
        for r in range(a.rounds):
            for name, burst in bursts:
                for variant in a.variants.split(","):
                    flags, env = VARIANTS[variant]
                    server = Server(a.server, ckpt, flags, env, os.path.join(tmp, "server.log"))
                    try:
                        server.wait_idle()
                        before = server.rss_mib()
                        sampler = PeakSampler(server)
                        sampler.start()
                        what = burst(server)
                        server.wait_idle()
                        sampler.done = True
                        time.sleep(2)
                        after2 = server.rss_mib()
                        time.sleep(10)
                        after12 = server.rss_mib()
                        print(f"round {r} {name:6} {variant:10} {before:7.0f} {sampler.peak:7.0f} "
                              f"{after2:7.0f} {after12:7.0f}  ({what})", flush=True)
                    finally:
                        server.stop()


if __name__ == "__main__":
    sys.exit(main())
