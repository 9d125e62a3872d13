#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs the dependencies, builds, and starts
# trm-server on the bundled models in checkpoints/ (gRPC on :50051, HTTP/JSON and the web page on
# :8080, metrics on :9464).
# Extra arguments go to trm-server (see `trm-server --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec "${TRM_BUILD_DIR:-build}/server/trm-server" "$@"
