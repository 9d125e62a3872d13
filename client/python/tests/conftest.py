"""A trm-server on loopback for the client tests: the bundled sudoku and maze checkpoints and the
arc_tiny test fixture (TRM_SERVER_BIN, TRM_SOURCE_DIR)."""
import os
import sys

import pytest

SOURCE = os.environ.get("TRM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "deploy", "tests"))
import live  # noqa: E402  (trm-server on loopback: free ports, start, wait, stop)


def start(tmp_path_factory, name, extra=()):
    log = tmp_path_factory.mktemp(name) / "server.log"
    checkpoints = ",".join([os.path.join(SOURCE, "checkpoints", "sudoku"),
                            os.path.join(SOURCE, "checkpoints", "maze"),
                            "arc_tiny=" + os.path.join(SOURCE, "tests", "data", "arc_tiny")])
    s = live.Server(os.environ["TRM_SERVER_BIN"], checkpoints, str(log), extra)
    s.wait_serving()
    return s


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    # Short ARC fits (unseen tasks): the mechanics, in seconds.
    s = start(tmp_path_factory, "plain", ["--arc_fit_updates=4", "--arc_fit_batch_size=2"])
    yield s
    s.stop()


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE
