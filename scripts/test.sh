#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs the dependencies, builds, and
# runs every test with ctest. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${TRM_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j "$(nproc)"
