#!/usr/bin/env bash
# The serving core's figures (bench/RESULTS.md, "Serving core"), each measured side by side in one
# run on this machine:
#   fallback   steps/s of a full batch of fixed-step requests on a tiny model (hidden 32) when half
#              of them take the exact-solver fallback on hard puzzles, against none doing so, through
#              trm-server and trm-client (the fallback runs where the server builds answers).
#   overhead   engine step wall time minus the network's forward alone on the same tensors, at
#              batch 1, 8 and 64 (trm-bench --mode overhead), tiny model and the paper's sudoku shape.
#   views      8-view requests on the model cards' calibration sets: exact accuracy (trm-eval) and
#              p50 latency through the server (trm-client bench, one request at a time).
#   cards      the model cards' latency through the server (scripts/eval-bundled.sh's bench bands).
# With BASE_BUILD set (a build of an earlier commit), every figure is measured for it too,
# alternating the builds.
#
#   bench/serving_core_bench.sh fallback|overhead|views|cards|all
#
# TRM_BUILD_DIR (default build), BASE_BUILD (optional), THREADS (default 2), OUT (default
# /tmp/serving-core-bench), for overhead SHAPES ("tiny paper"), ROUNDS (2), REPEATS (3),
# TINY_STEPS (200) and PAPER_STEPS (8), for views KINDS ("sudoku maze"), KERNELS (optional, e.g. "reference fast": TRM_BUILD_DIR's
# programs run once with each --cpu_kernels; "reference" compares the serving core alone with a
# base build that predates the fast CPU kernels).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
build=${TRM_BUILD_DIR:-build}
base=${BASE_BUILD:-}
threads=${THREADS:-2}
out=${OUT:-/tmp/serving-core-bench}
shared=${TRM_SHARED_DIR:-../shared}
mkdir -p "$out"
# The variants measured, alternating: BUILD or BUILD:KERNELS (the new build once per KERNELS).
builds=()
[[ -n $base ]] && builds=("$base")
if [[ -n ${KERNELS:-} ]]; then
  for k in $KERNELS; do builds+=("$build:$k"); done
else
  builds+=("$build")
fi
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); builds: ${builds[*]}"

# bin VARIANT: its build folder. kernel_flags VARIANT: its --cpu_kernels flag, if any.
bin() { echo "${1%%:*}"; }
kernel_flags() { [[ $1 == *:* ]] && echo "--cpu_kernels=${1#*:}" || true; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server BUILD ARGS...: sets $server_pid, $port, $mport.
start_server() {
  local b=$1
  shift
  port=$(free_port)
  mport=$(free_port)
  "$(bin "$b")/server/trm-server" --listen "127.0.0.1:$port" --metrics_listen "127.0.0.1:$mport" \
    --threads "$threads" $(kernel_flags "$b") "$@" >"$out/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    "$(bin "$b")/client/trm-client" health --target "127.0.0.1:$port" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server did not start: $(tail -5 "$out/server.log")" >&2
  return 1
}
stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
metric() {  # NAME: the sum of the series' values
  curl -s "127.0.0.1:$mport/metrics" | awk -v n="$1" '$1 ~ "^"n"({|$)" {s += $2} END {print s + 0}'
}

fallback() {
  # A tiny random sudoku model fails every puzzle, so with exact_fallback on each answer goes
  # through the exact solver; on top1465 that search is hard. Batch 8, 8 callers, 64 fixed steps.
  local ckpt=$out/tiny32
  [[ -d $ckpt ]] || "$build/model/trm-init-checkpoint" --task sudoku --hidden 32 --heads 2 \
    --h_cycles 1 --l_cycles 1 --out "$ckpt" >/dev/null
  local hard=$shared/data/sudoku/puzzles3_magictour_top1465.txt
  local common=(bench --task sudoku --file "$hard" --ignore_halting --max_steps 64
                --dihedral_views 1 --duration_s 20 --timeout_s 600)
  for b in "${builds[@]}"; do
    for mode in none half none half; do
      start_server "$b" --checkpoints "$ckpt" --batch_size 8 --queue_size 64
      local s0 t0 s1 t1
      s0=$(metric trm_batch_steps_total)
      t0=$(date +%s.%N)
      if [[ $mode == none ]]; then
        "$(bin "$b")/client/trm-client" "${common[@]}" --target "127.0.0.1:$port" --concurrency 8 \
          >"$out/fallback.$mode.txt" 2>&1
      else
        "$(bin "$b")/client/trm-client" "${common[@]}" --target "127.0.0.1:$port" --concurrency 4 \
          >"$out/fallback.$mode.a.txt" 2>&1 &
        local other=$!
        "$(bin "$b")/client/trm-client" "${common[@]}" --target "127.0.0.1:$port" --concurrency 4 \
          --exact_fallback >"$out/fallback.$mode.b.txt" 2>&1
        wait $other
      fi
      s1=$(metric trm_batch_steps_total)
      t1=$(date +%s.%N)
      local fb
      fb=$(curl -s "127.0.0.1:$mport/metrics" | awk '/^trm_answers_total.*exact_solver/ {s += $2} END {print s + 0}')
      stop_server
      python3 -c "import sys; s0,s1,t0,t1=map(float,sys.argv[1:5]); print(f'fallback {sys.argv[5]:4} {sys.argv[6]}: {(s1-s0)/(t1-t0):7.1f} batch steps/s, {int(float(sys.argv[7]))} exact-solver answers')" \
        "$s0" "$s1" "$t0" "$t1" "$mode" "$b" "$fb"
    done
  done
}

overhead() {
  local tiny=(--task sudoku --hidden 32 --heads 2 --layers 2 --h_cycles 1 --l_cycles 1
              --puzzle_emb_len 0 --steps "${TINY_STEPS:-200}")
  local paper=(--task sudoku --hidden 128 --heads 8 --layers 2 --h_cycles 3 --l_cycles 6
               --steps "${PAPER_STEPS:-8}")
  for shape in ${SHAPES:-tiny paper}; do
    local -n args=$shape
    for round in $(seq "${ROUNDS:-2}"); do
      for b in "${builds[@]}"; do
        echo "overhead $shape round $round $b:"
        "$(bin "$b")/bench/trm-bench" "${args[@]}" --mode overhead --batches 1,8,64 --threads "$threads" \
          $(kernel_flags "$b") --repeats "${REPEATS:-3}" 2>&1 | grep '"kind":"overhead"' | sed 's/^/    /'
      done
    done
  done
}

views() {
  for kind in ${KINDS:-sudoku maze}; do
    local ckpt=checkpoints/$kind cal=$out/cal.$kind.txt
    if [[ ! -s $cal ]]; then
      if [[ $kind == sudoku ]]; then
        { "$build/puzzle/trm-data" generate sudoku --count 250 --seed 9301 --min_givens 28 --max_givens 56
          "$build/puzzle/trm-data" generate sudoku --count 250 --seed 9303 --min_givens 24 \
            --max_givens 40 --min_guesses 1; } >"$cal"
      else
        # The card's calibration mazes: the bundled model's 9x9 (seed 9302, as generated).
        "$build/puzzle/trm-data" generate maze --count 500 --seed 9302 --side 9 --min_path 4 >"$cal"
      fi
    fi
    for b in "${builds[@]}"; do
      echo "views $kind $b: $("$(bin "$b")/bench/trm-eval" --checkpoint "$ckpt" --puzzles "$cal" \
        --halting act --dihedral_views 8 --threads "$threads" $(kernel_flags "$b") 2>&1 | grep '^{' |
        python3 -c 'import json,sys; j=json.load(sys.stdin); print("exact %.1f%% of %d, mean steps %.2f" % (100*j["exact_accuracy"], j["examples"], j["mean_steps"]))')"
    done
    for round in 1 2; do
      for b in "${builds[@]}"; do
        start_server "$b" --checkpoints "$ckpt"
        echo "views $kind latency round $round $b:"
        "$(bin "$b")/client/trm-client" bench --task "$kind" --target "127.0.0.1:$port" --file "$cal" \
          --requests 200 --concurrency 1 2>&1 | grep -E 'p50|latency|verified' | sed 's/^/    /'
        stop_server
      done
    done
  done
}

cards() {
  # The model cards' "Latency through the server": scripts/eval-bundled.sh's two bench bands per
  # model (same generator seeds, 500 each), 100 requests one at a time, the serving defaults.
  local data=$build/puzzle/trm-data
  [[ -s $out/card.medium.txt ]] || "$data" generate sudoku --count 500 --seed 9102 --min_givens 42 \
    --max_givens 49 >"$out/card.medium.txt"
  [[ -s $out/card.guess4.txt ]] || "$data" generate sudoku --count 500 --seed 9107 --min_givens 24 \
    --max_givens 40 --min_guesses 4 >"$out/card.guess4.txt"
  [[ -s $out/card.p12.txt ]] || "$data" generate maze --count 500 --seed 9202 --side 9 \
    --min_path 12 --max_path 15 >"$out/card.p12.txt"
  [[ -s $out/card.p21.txt ]] || "$data" generate maze --count 500 --seed 9204 --side 9 \
    --min_path 21 >"$out/card.p21.txt"
  for round in $(seq "${ROUNDS:-2}"); do
    for b in "${builds[@]}"; do
      for band in sudoku:medium sudoku:guess4 maze:p12 maze:p21; do
        local kind=${band%%:*} file=$out/card.${band#*:}.txt
        start_server "$b" --checkpoints "checkpoints/$kind"
        echo "card $band round $round $b:"
        "$(bin "$b")/client/trm-client" bench --task "$kind" --target "127.0.0.1:$port" \
          --file "$file" --requests 100 --concurrency 1 2>&1 | grep -E 'latency|ACT|verified' |
          sed 's/^/    /'
        stop_server
      done
    done
  done
}

case $what in
  fallback) fallback ;;
  overhead) overhead ;;
  views) views ;;
  cards) cards ;;
  all) fallback; overhead; views; cards ;;
  *) echo "usage: $0 fallback|overhead|views|cards|all" >&2; exit 2 ;;
esac
