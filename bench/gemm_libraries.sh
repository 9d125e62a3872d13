#!/bin/bash
# bench/RESULTS.md "GEMM libraries": trm-gemm-bench with each library on its best instruction set,
# then with libxsmm and oneDNN held to AVX2 (the CPUs the AVX2 path is for), one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-build/bench/trm-gemm-bench}
echo "## $(date -u +%H:%M) UTC, load $(cut -d' ' -f1 /proc/loadavg): each library's best ISA"
"$bin"
echo "## $(date -u +%H:%M) UTC, load $(cut -d' ' -f1 /proc/loadavg): LIBXSMM_TARGET=hsw ONEDNN_MAX_CPU_ISA=AVX2"
LIBXSMM_TARGET=hsw ONEDNN_MAX_CPU_ISA=AVX2 "$bin"
