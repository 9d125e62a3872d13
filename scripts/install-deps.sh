#!/usr/bin/env bash
# Installs every system package TRM Serve needs to build, test and run, from Debian 12's
# registry only. Idempotent: apt-get skips what is already installed. Runs as root or via sudo.
#   scripts/install-deps.sh                everything: build, test, run
#   scripts/install-deps.sh --build-only   what building the programs needs (the image's build stage)
#   scripts/install-deps.sh --image-tools  also podman, buildah, mmdebstrap and podman-compose, for
#                                          deploy/tests/image_smoke.sh
set -euo pipefail
mode=all
case "${1:-}" in
  "") ;;
  --build-only) mode=build ;;
  --image-tools) mode=image ;;
  *) echo "install-deps: unknown option '$1' (--build-only, --image-tools)" >&2; exit 2 ;;
esac

SUDO=""
if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi

BUILD_PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git
  # the network: Debian's libtorch 1.13 (CPU). Without an optimised BLAS it falls back to the
  # reference libblas, about 20x slower; libopenblas0-openmp replaces it through alternatives.
  libtorch-dev libopenblas0-openmp
  # tcmalloc for trm-train, trm-bench and trm-eval: glibc's malloc hands a step's freed tensors
  # back to the kernel and faults them in again the next step (the libtorch step 4-6x slower)
  libgoogle-perftools-dev
  # torch.distributed for data-parallel trm-train: c10d::ProcessGroupGloo (in libtorch_cpu) needs
  # gloo's headers and -lgloo
  libgloo-dev
  # service
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libabsl-dev libyaml-cpp-dev
  prometheus-cpp-dev nlohmann-json3-dev libssl-dev zlib1g-dev openssl
  # HTTP/JSON API, web page and /metrics (cpp-httplib 0.11, a compiled library in Debian)
  libcpp-httplib-dev
  # configure needs GoogleTest (every folder registers its tests) and Google Benchmark
  libgtest-dev libgmock-dev libbenchmark-dev
)
TEST_PACKAGES=(
  # clang for the fuzzers and the thread-safety analysis; clang-format for the style check
  clang clang-format libclang-rt-14-dev
  # the real Prometheus server the metrics tests scrape with
  prometheus
  python3 python3-numpy python3-grpcio python3-protobuf python3-grpc-tools python3-torch
  # pytest, for the Python client package's tests and the web page's browser test
  python3-pytest
  # the Python client package (client/python), built by pip over Debian's setuptools in a venv
  python3-pip python3-venv python3-setuptools python3-wheel
  # the web page's browser test: Debian's chromium, headless, driven through chromedriver
  chromium chromium-driver python3-selenium
  # deployment checks (no Docker engine is needed: only `docker-compose config`)
  docker-compose
  # the edge proxy profile (deploy/haproxy), run in front of trm-server by EdgeProxyTest
  haproxy
  # the GEMM libraries trm-gemm-bench measures beside the fast step's own kernels (issue 31)
  libxsmm-dev libdnnl-dev
)
IMAGE_PACKAGES=(
  # deploy/tests/image_smoke.sh: build and run the image without a Docker engine or a registry
  podman buildah mmdebstrap podman-compose runc uidmap slirp4netns fuse-overlayfs netavark
  aardvark-dns
)

PACKAGES=("${BUILD_PACKAGES[@]}")
if [[ $mode != build ]]; then PACKAGES+=("${TEST_PACKAGES[@]}"); fi
if [[ $mode == image ]]; then PACKAGES+=("${IMAGE_PACKAGES[@]}"); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#PACKAGES[@]} packages present" >&2
fi
