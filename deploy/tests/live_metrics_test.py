#!/usr/bin/python3
"""A live trm-server exports what the dashboards and alerts query.

Starts trm-server on loopback with a tiny random-init checkpoint, checks `trm-client health`
(the image's HEALTHCHECK) against a dns:/// target, sends a Solve and one bad request so that
labelled counters and histograms have series, reads /metrics and runs metric_names.py with
--exported: every metric a dashboard or alert names must be documented AND exported, and every
documented family exported.

  live_metrics_test.py --server BIN --client BIN --init BIN --source DIR | --skip REASON
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import live  # noqa: E402
import metric_names  # noqa: E402


def main(argv):
    live.skip_if_asked(argv)
    args = live.program_args(argv)
    src = args.source
    with tempfile.TemporaryDirectory(prefix="trm-deploy-live-") as tmp:
        ckpts = live.make_checkpoint(args.init, os.path.join(tmp, "checkpoints"))
        server = live.Server(args.server, ckpts, os.path.join(tmp, "server.log"))
        try:
            server.wait_serving()
            target = f"dns:///{server.address()}"
            rc, out, err = live.run_client(args.client, ["health", f"{live.CLIENT_TARGET_FLAG}={target}"])
            if rc != 0:
                print(f"FAIL trm-client health {target}: exit {rc}: {err.strip()}", file=sys.stderr)
                return 1
            rc, out, err = live.run_client(
                args.client, ["solve", "sudoku", live.SUDOKU, f"{live.CLIENT_TARGET_FLAG}={target}"])
            if rc != 0:
                print(f"FAIL trm-client solve: exit {rc}: {err.strip()}\n{server.tail()}", file=sys.stderr)
                return 1
            # A malformed puzzle: the error counters get a series too.
            rc, _, err = live.run_client(
                args.client, ["solve", "sudoku", "x" * 81, f"{live.CLIENT_TARGET_FLAG}={target}"])
            if rc == 0:
                print("FAIL trm-client solve with a malformed sudoku succeeded", file=sys.stderr)
                return 1
            text = server.metrics()
        finally:
            code = server.stop()
        if code != 0:
            print(f"FAIL trm-server exited with {code} after SIGTERM:\n{server.tail()}", file=sys.stderr)
            return 1
        solved = live.sample_sum(text, "trm_requests_total", method="Solve", code="OK")
        if solved < 1:
            print(f"FAIL trm_requests_total{{method=Solve,code=OK}} is {solved} after a Solve", file=sys.stderr)
            return 1
        path = os.path.join(tmp, "metrics.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return metric_names.main([
            "--docs", os.path.join(src, "docs", "metrics.md"),
            "--dashboards", os.path.join(src, "deploy", "grafana", "dashboards"),
            "--rules", os.path.join(src, "deploy", "prometheus", "alerts.yml"),
            "--exported", path])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
