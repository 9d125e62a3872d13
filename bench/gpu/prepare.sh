#!/usr/bin/env bash
# Run HERE (the Debian 12 development machine) before calling the GPU machine: gathers what
# bench/gpu/run.sh needs and the GPU machine lacks into .gpu-carry/ (git-ignored through
# .git/info/exclude), which the device call then carries:
#   .gpu-carry/debs/    Debian 12 packages of the build dependencies missing there (abseil,
#                       nlohmann-json, yaml-cpp, GoogleTest; with --with-server also gRPC,
#                       protobuf, re2, c-ares, prometheus-cpp, civetweb, OpenSSL, zlib)
#   .gpu-carry/parity/  a copy of ../shared/parity (../shared does not travel)
# Then:  run(command="bash bench/gpu/run.sh", carry=[".gpu-carry"], timeout_s=540)
set -euo pipefail
cd "$(dirname "$0")/../.."
WITH_SERVER=0
[[ "${1:-}" == --with-server ]] && WITH_SERVER=1
SHARED="${TRM_SHARED_DIR:-../shared}"
CARRY=.gpu-carry

# Header-only or static parts need their -dev package, shared libraries their runtime package.
PKGS=(libabsl-dev libabsl20220623 nlohmann-json3-dev libyaml-cpp-dev libyaml-cpp0.7
      libgtest-dev libgmock-dev)
if ((WITH_SERVER)); then
  PKGS+=(libgrpc++1.51 libgrpc29 libgrpc++-dev libgrpc-dev libprotobuf32 libprotobuf-dev
         libprotoc32 protobuf-compiler protobuf-compiler-grpc libre2-9 libre2-dev libc-ares2
         libc-ares-dev libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 prometheus-cpp-dev
         libcivetweb1 libcivetweb-dev libssl-dev zlib1g-dev)
fi

grep -qxF "/$CARRY/" .git/info/exclude 2>/dev/null || echo "/$CARRY/" >> .git/info/exclude
rm -rf "$CARRY/debs" "$CARRY/parity"
mkdir -p "$CARRY/debs"
(cd "$CARRY/debs" && apt-get download "${PKGS[@]}")
cp -r "$SHARED/parity" "$CARRY/parity"
du -sh "$CARRY"
echo "prepare: ${#PKGS[@]} packages and the parity vectors in $CARRY (limit 64 MiB with the tree)"
