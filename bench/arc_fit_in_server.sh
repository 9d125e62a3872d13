#!/bin/bash
# bench/RESULTS.md "Per task, at the server's defaults": trm-bench's fit, then trm-server fitting one unseen task
# under glibc defaults and raised thresholds. ONE_TASK=one_task_challenges.json bench/arc_fit_in_server.sh
cd "$(dirname "$0")/.."
fit_in_server() {  # $1: label, rest: env
  local label=$1; shift
  env "$@" build/server/trm-server --checkpoints=arc_tiny=tests/data/arc_tiny --listen=127.0.0.1:50072 \
     --http_listen=127.0.0.1:0 --metrics_listen=127.0.0.1:9472 > /tmp/arc_fit_$label.log 2>&1 &
  local pid=$!
  for i in $(seq 60); do grep -q SERVING /tmp/arc_fit_$label.log && break; sleep 0.5; done
  build/client/trm-client arc run ${ONE_TASK:?a challenges file of one task the model does not know} --out /tmp/arc_fit_out_$label.json \
     --target=127.0.0.1:50072 --model=arc_tiny --timeout_s=900 > /dev/null 2>&1
  echo "$label: $(curl -s 127.0.0.1:9472/metrics | grep 'trm_arc_fit_duration_seconds_sum') rss_kb=$(grep VmHWM /proc/$pid/status)"
  kill $pid; wait $pid
}
date -u +%H:%M
build/bench/trm-bench --mode fit --checkpoint tests/data/arc_tiny --fit_batches 16 --fit_batch_size 8 --fit_act_steps 2 --threads 2 2>&1 | tail -3
fit_in_server glibc X=1
fit_in_server glibc_tuned GLIBC_TUNABLES=glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=1073741824
fit_in_server glibc_again X=1
fit_in_server glibc_tuned_32mib GLIBC_TUNABLES=glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432
date -u +%H:%M
