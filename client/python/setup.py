"""Builds trm_serve with its gRPC stubs generated from the repository's proto/ folder.

The stubs are not checked in: build_py runs grpc_tools.protoc on proto/trm/v1/solver.proto and
proto/grpc/health/v1/health.proto (TRM_PROTO_DIR overrides where proto/ is) and writes them into
trm_serve/_proto with package-relative imports, so they cannot clash with another copy of the
same modules (e.g. grpcio-health-checking's grpc.health.v1).
"""
import os
import pathlib
import re
import shutil
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent
PROTOS = ["trm/v1/solver.proto", "grpc/health/v1/health.proto"]


def proto_dir():
    found = pathlib.Path(os.environ.get("TRM_PROTO_DIR", HERE.parent.parent / "proto"))
    if not (found / PROTOS[0]).is_file():
        raise SystemExit(f"trm_serve: no {PROTOS[0]} under {found}: build from a TRM Serve "
                         "checkout, or set TRM_PROTO_DIR to its proto/ folder")
    return found


def generate_stubs(out_dir):
    from grpc_tools import protoc  # Debian: python3-grpc-tools.

    src = proto_dir()
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        args = ["protoc", f"-I{src}", f"--python_out={tmp}", f"--grpc_python_out={tmp}", *PROTOS]
        if protoc.main(args) != 0:
            raise SystemExit(f"trm_serve: grpc_tools.protoc failed on {PROTOS} in {src}")
        for proto in PROTOS:
            stem = pathlib.Path(proto).with_suffix("")
            module = ".".join(stem.parts)  # trm.v1.solver
            for suffix in ("_pb2.py", "_pb2_grpc.py"):
                text = (pathlib.Path(tmp) / (str(stem) + suffix)).read_text()
                # "from trm.v1 import solver_pb2 as ..." -> "from . import solver_pb2 as ..."
                package = module.rsplit(".", 1)[0]
                text = re.sub(rf"^from {re.escape(package)} import ", "from . import ", text,
                              flags=re.M)
                (out_dir / (stem.name + suffix)).write_text(text)
    (out_dir / "__init__.py").write_text('"""Generated from proto/ by setup.py; do not edit."""\n')


class BuildPyWithStubs(build_py):
    def run(self):
        super().run()
        generate_stubs(pathlib.Path(self.build_lib) / "trm_serve" / "_proto")


setup(cmdclass={"build_py": BuildPyWithStubs})
