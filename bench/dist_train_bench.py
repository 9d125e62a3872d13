#!/usr/bin/python3
"""trm-train throughput on one machine: 1 rank x T threads against T ranks x 1 thread
(data-parallel through scripts/launch.py, Gloo on loopback), measured side by side: the two
configurations alternate, each repeated, and the machine's load average is recorded with every
run. Reports examples/s (global batch / step wall time, median over the steps after the first
--skip), their ratio per repetition, and each step's time in collectives (rank 0's, and the
least over ranks, which is about the transfer itself: the last rank to arrive waits for nobody).

  bench/dist_train_bench.py --shape sudoku_small --steps 30 --reps 3 --extra 1x1,1x2p
  bench/dist_train_bench.py --shape paper --steps 3 --skip 1 --reps 2 --batch 8

Shapes: sudoku_small (the preset: hidden 64, batch 32) and paper (sudoku_att: hidden 512, 8
heads, H3 x L6, puzzle embedding of 16 positions, 6.8M parameters; the paper's batch of 768 is
out of reach on a CPU, so --batch sets it). Uses $TRM_BUILD_DIR/train/trm-train (default build/).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load():
    with open("/proc/loadavg", encoding="utf-8") as f:
        return float(f.read().split()[0])


def run(trm_train, shape, ranks, threads, passive, steps, batch, out):
    flags = [f"--steps={steps}", "--log_interval=1", "--eval_size=0", "--device=cpu",
             f"--threads={threads}", f"--out_dir={out}", "--checkpoint_interval=0"]
    if shape == "paper":
        # Easy puzzles keep generation out of the timing; --batch rows per step.
        flags += ["--preset=sudoku_att", "--sudoku_min_givens=40", "--sudoku_max_givens=45"]
    else:
        flags += ["--preset=sudoku_small"]
    if batch:
        flags.append(f"--global_batch_size={batch}")
    cmd = [trm_train] + flags
    if ranks > 1:
        cmd = [os.path.join(ROOT, "scripts", "launch.py"), f"--nproc_per_node={ranks}"] + cmd
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if passive:  # OpenMP threads sleep at barriers instead of spinning (oversubscribed cores).
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    before = load()
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    with open(os.path.join(out, "metrics.jsonl"), encoding="utf-8") as f:
        lines = [json.loads(l) for l in f if '"kind":"train"' in l.replace(" ", "")]
    return lines, wall, before, load()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=["sudoku_small", "paper"], default="sudoku_small")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--skip", type=int, default=3, help="first steps left out (start-up)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="cores to use: T")
    ap.add_argument("--batch", type=int, default=0, help="global batch (0: the preset's)")
    ap.add_argument("--extra", default="",
                    help="more configurations run in each repetition, for reference: RxT[p], "
                         "comma-separated (p: OMP_WAIT_POLICY=PASSIVE), e.g. 1x1,1x2p")
    a = ap.parse_args()
    build = os.environ.get("TRM_BUILD_DIR", os.path.join(ROOT, "build"))
    trm_train = os.path.join(build, "train", "trm-train")
    configs = [(1, a.threads, False), (a.threads, 1, False)]
    for c in filter(None, a.extra.split(",")):
        r, t = c.rstrip("p").split("x")
        configs.append((int(r), int(t), c.endswith("p")))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(a.reps):
            order = configs if rep % 2 == 0 else configs[::-1]  # ABBA: drift hits both alike.
            for ranks, threads, passive in order:
                out = os.path.join(tmp, f"r{rep}_{ranks}x{threads}{'p' if passive else ''}")
                lines, wall, l0, l1 = run(trm_train, a.shape, ranks, threads, passive, a.steps,
                                          a.batch, out)
                timed = [l for l in lines if l["step"] > a.skip]
                eps = statistics.median(l["examples_per_second"] for l in timed)
                comm = statistics.median(l.get("comm_ms", 0.0) for l in timed)
                comm_min = statistics.median(l.get("comm_min_ms", 0.0) for l in timed)
                rows.append(dict(rep=rep, ranks=ranks, threads=threads, passive=passive, eps=eps,
                                 comm=comm, comm_min=comm_min, wall=wall, load0=l0, load1=l1))
                print(f"rep {rep} {ranks} rank(s) x {threads} thread(s)"
                      f"{' OMP_WAIT_POLICY=PASSIVE' if passive else ''}: {eps:.2f} ex/s, comm "
                      f"{comm:.1f} ms/step (least over ranks {comm_min:.1f}), {wall:.0f} s wall, "
                      f"load {l0:.1f} -> {l1:.1f}", flush=True)
    print(f"\n| shape | rep | 1 rank x {a.threads} threads ex/s | {a.threads} ranks x 1 thread "
          f"ex/s | ratio (ranks / threads) | comm ms/step (rank 0; least over ranks) | load |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    ratios = []
    for rep in range(a.reps):
        one = next(r for r in rows if r["rep"] == rep and (r["ranks"], r["threads"], r["passive"])
                   == configs[0])
        many = next(r for r in rows if r["rep"] == rep and (r["ranks"], r["threads"], r["passive"])
                    == configs[1])
        ratios.append(many["eps"] / one["eps"])
        loads = [one["load0"], one["load1"], many["load0"], many["load1"]]
        print(f"| {a.shape} | {rep + 1} | {one['eps']:.2f} | {many['eps']:.2f} | {ratios[-1]:.2f} "
              f"| {many['comm']:.1f}; {many['comm_min']:.1f} | {min(loads):.1f}-{max(loads):.1f} |")
    print(f"\nmedian ratio {statistics.median(ratios):.2f} over {a.reps} repetitions")
    for c in configs[2:]:
        eps = [r["eps"] for r in rows if (r["ranks"], r["threads"], r["passive"]) == c]
        print(f"reference {c[0]} rank(s) x {c[1]} thread(s){' passive' if c[2] else ''}: "
              f"median {statistics.median(eps):.2f} ex/s")


if __name__ == "__main__":
    main()
