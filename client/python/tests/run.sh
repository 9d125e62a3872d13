#!/bin/sh
# ctest python_client: installs client/python into a fresh venv that sees Debian's packages
# (--system-site-packages: python3-grpcio, python3-protobuf, python3-grpc-tools, python3-pytest),
# exactly as its README says, then runs the pytest suite against a live trm-server. Nothing is
# written to the system's site-packages or to the source tree.
#   TRM_SOURCE_DIR=. TRM_SERVER_BIN=build/server/trm-server TRM_PYTHON_VENV=/tmp/v client/python/tests/run.sh
set -eu
: "${TRM_SOURCE_DIR:?}" "${TRM_SERVER_BIN:?}" "${TRM_PYTHON_VENV:?}"
rm -rf "$TRM_PYTHON_VENV"
/usr/bin/python3 -m venv --system-site-packages "$TRM_PYTHON_VENV"
# Built from a copy, so pip's in-tree build files stay out of the checkout.
mkdir -p "$TRM_PYTHON_VENV/src"
cp -r "$TRM_SOURCE_DIR/client/python" "$TRM_PYTHON_VENV/src/"
TRM_PROTO_DIR="$TRM_SOURCE_DIR/proto" "$TRM_PYTHON_VENV/bin/pip" install --quiet --no-index \
  --no-build-isolation --no-deps "$TRM_PYTHON_VENV/src/python"
export PYTHONDONTWRITEBYTECODE=1
exec "$TRM_PYTHON_VENV/bin/python" -m pytest -q -p no:cacheprovider "$TRM_SOURCE_DIR/client/python/tests"
