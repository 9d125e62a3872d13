#!/usr/bin/env bash
# A longer soak by hand: trm-server on loopback with small checkpoints, trm-client bench at a
# concurrency well past the batch size for N minutes in rounds, and checks after each round that
# the server is alive, every error is RESOURCE_EXHAUSTED, nothing is left in the slots or queue
# and RSS has not grown past a bound. Exit 0 when every round passed.
#   scripts/soak.sh [MINUTES=10] [BUILD_DIR=build]
# Environment: SOAK_S (overrides MINUTES, in seconds), CONCURRENCY (64), BATCH_SIZE (8), QUEUE_SIZE (16), ROUND_S (60), RSS_GROWTH_MB (64),
# CHECKPOINTS (default: small random-init ones made here with trm-init-checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-10}"
build="${2:-build}"
concurrency="${CONCURRENCY:-64}"
batch="${BATCH_SIZE:-8}"
queue="${QUEUE_SIZE:-16}"
round_s="${ROUND_S:-60}"
growth_mb="${RSS_GROWTH_MB:-64}"
for b in server/trm-server client/trm-client model/trm-init-checkpoint; do
  [ -x "$build/$b" ] || { echo "soak: $build/$b not built (scripts/build.sh)"; exit 2; }
done
work="$(mktemp -d /tmp/trm_soak.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2> /dev/null; then kill -TERM "$server_pid"; fi
  wait 2> /dev/null || true
  echo "soak: logs and results in $work"
}
trap cleanup EXIT

ckpts="${CHECKPOINTS:-}"
if [ -z "$ckpts" ]; then
  ckpts="$work/checkpoints"
  "$build/model/trm-init-checkpoint" --hidden=32 --heads=2 --h_cycles=1 --l_cycles=1 --layers=2 \
    --task=sudoku --halt_max_steps=8 --out="$ckpts/sudoku" > "$work/init.log" 2>&1
fi

"$build/server/trm-server" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --http_listen="" --device=cpu \
  --checkpoints="$ckpts" --batch_size="$batch" --queue_size="$queue" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do
  grep -q " SERVING" "$work/server.log" && break
  kill -0 "$server_pid" 2> /dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done
port="$(grep -o 'listening on [0-9.]*:[0-9]*' "$work/server.log" | grep -o '[0-9]*$')"
mport="$(grep -o 'metrics on http://[0-9.]*:[0-9]*' "$work/server.log" | grep -o '[0-9]*$')"
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }
gauge() {  # Sum of a metric's series.
  curl -s "http://127.0.0.1:$mport/metrics" | awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {print s + 0}'
}
echo "soak: server pid $server_pid on 127.0.0.1:$port, $minutes min, concurrency $concurrency," \
  "batch $batch, queue $queue"

# Warm-up round, then the baseline RSS.
"$build/client/trm-client" bench --target="127.0.0.1:$port" --task=sudoku \
  --concurrency="$concurrency" --duration_s=10 --json > "$work/warmup.json" 2>&1 || true
rss0="$(rss_kib)"
end=$(( $(date +%s) + ${SOAK_S:-$((minutes * 60))} ))
round=0
failed=0
total_ok=0
total_rejected=0
while [ "$(date +%s)" -lt "$end" ]; do
  round=$((round + 1))
  out="$work/round_$round.json"
  "$build/client/trm-client" bench --target="127.0.0.1:$port" --task=sudoku \
    --concurrency="$concurrency" --duration_s="$round_s" --json > "$out" 2> "$work/round_$round.err" || true
  read -r ok rejected other < <(/usr/bin/python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read())
e = d.get("errors", {})
print(d.get("ok", 0), e.get("RESOURCE_EXHAUSTED", 0), sum(v for k, v in e.items() if k != "RESOURCE_EXHAUSTED"))
' "$out" 2> /dev/null || echo "0 0 -1")
  sleep 1
  active="$(gauge trm_active_requests)"
  depth="$(gauge trm_queue_depth)"
  rss="$(rss_kib)"
  total_ok=$((total_ok + ok))
  total_rejected=$((total_rejected + rejected))
  status=ok
  if ! kill -0 "$server_pid" 2> /dev/null; then status="server died"; fi
  if [ "$other" != 0 ]; then status="errors other than RESOURCE_EXHAUSTED: $other (see $out)"; fi
  if [ "$ok" = 0 ]; then status="no call succeeded"; fi
  if [ "$active" != 0 ] || [ "$depth" != 0 ]; then status="not idle: active $active, queued $depth"; fi
  if [ $((rss - rss0)) -gt $((growth_mb * 1024)) ]; then status="RSS grew $rss0 -> $rss KiB"; fi
  echo "round $round: $ok OK, $rejected RESOURCE_EXHAUSTED, $other other; RSS $rss KiB" \
    "(start $rss0); idle after: active $active queued $depth: $status"
  if [ "$status" != ok ]; then failed=1; break; fi
done
kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=""
echo "soak: $round rounds, $total_ok OK, $total_rejected RESOURCE_EXHAUSTED, server exit $code"
[ "$failed" = 0 ] && [ "$code" = 0 ]
