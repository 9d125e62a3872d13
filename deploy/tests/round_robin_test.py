#!/usr/bin/python3
"""Scale-out without a home-made balancer: two trm-server processes on loopback, one
`trm-client bench` channel whose target lists both, and gRPC's round_robin policy spreads the
calls: each server's trm_requests_total{method="Solve"} must rise, and neither may take almost
all of them (pick_first would send every call to one server).

  round_robin_test.py --server BIN --client BIN --init BIN | --skip REASON
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import live  # noqa: E402

# Load for a while; only the calls made once both servers have answered one count towards the
# split (the share then depends on the policy, not on how soon the second subchannel connected on
# a loaded machine). The counts are read from the servers while the client runs.
DURATION_S = 4
MIN_CALLS = 10
# round_robin alternates once both subchannels are READY; allow a generous margin.
MIN_SHARE = 0.2
# trm-client bench arguments besides the target: Solve calls on one channel.
BENCH_ARGS = ["bench", "--task=sudoku", f"--duration_s={DURATION_S}", "--concurrency=4"]


def solves(server):
    return live.sample_sum(server.metrics(), "trm_requests_total", method="Solve")


def main(argv):
    live.skip_if_asked(argv)
    ap = argparse.ArgumentParser()
    for a in ("--server", "--client", "--init"):
        ap.add_argument(a, required=True)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="trm-deploy-rr-") as tmp:
        ckpts = live.make_checkpoint(args.init, os.path.join(tmp, "checkpoints"))
        servers = [live.Server(args.server, ckpts, os.path.join(tmp, f"server{i}.log")) for i in (1, 2)]
        try:
            for s in servers:
                s.wait_serving()
            before = [solves(s) for s in servers]
            # gRPC's ipv4: scheme takes a list of addresses, the way DNS answers for a headless
            # Service with several pods; the client's service config picks round_robin.
            target = "ipv4:" + ",".join(s.address() for s in servers)
            client = live.start_client(args.client, [*BENCH_ARGS, f"{live.CLIENT_TARGET_FLAG}={target}"])
            # The baseline: the first reading at which both servers have answered a call.
            baseline = None
            while client.poll() is None and baseline is None:
                now = [solves(s) for s in servers]
                if all(n > b for n, b in zip(now, before)):
                    baseline = now
                else:
                    time.sleep(0.02)
            out, err = client.communicate(timeout=120)
            rc = client.returncode
            print(out)
            if rc != 0:
                print(f"FAIL trm-client bench {target}: exit {rc}: {err.strip()}", file=sys.stderr)
                return 1
            after = [solves(s) for s in servers]
        finally:
            codes = [s.stop() for s in servers]
        print("Solve calls per server: " + " and ".join(f"{a - b:.0f}" for a, b in zip(after, before)))
        problems = []
        if baseline is None:
            baseline = after
            problems.append("the client ended before both servers had answered a call")
        got = [a - b for a, b in zip(after, baseline)]
        total = sum(got)
        print(f"once both had answered: {got[0]:.0f} and {got[1]:.0f} of {total:.0f}")
        if total < MIN_CALLS:
            problems.append(f"the servers counted {total:.0f} Solve calls, want at least {MIN_CALLS}")
        for i, g in enumerate(got):
            if total and g / total < MIN_SHARE:
                problems.append(f"server {i + 1} got {g:.0f} of {total:.0f} calls: the load was not spread")
        for i, c in enumerate(codes):
            if c != 0:
                problems.append(f"server {i + 1} exited with {c} after SIGTERM:\n{servers[i].tail()}")
        for p in problems:
            print("FAIL", p, file=sys.stderr)
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
