#!/usr/bin/env bash
# Configures and builds TRM Serve into build/ (or $TRM_BUILD_DIR). Extra arguments go to cmake.
# TRM_BUILD_TARGETS="trm-server trm-client" builds only those (the image does: no tests).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${TRM_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
read -r -a targets <<< "${TRM_BUILD_TARGETS:-}"
cmake --build "$BUILD_DIR" --parallel "$(nproc)" ${targets[@]:+--target "${targets[@]}"}
