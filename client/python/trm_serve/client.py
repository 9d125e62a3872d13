"""trm_serve.Client: TRM Serve's gRPC API (trm.v1.Solver, grpc.health.v1) with plain Python
arguments and dataclass results."""
from __future__ import annotations

import os
from typing import Iterator, List, Optional, Sequence, Union

import grpc

from ._proto import health_pb2, health_pb2_grpc, solver_pb2, solver_pb2_grpc
from .types import ModelInfo, SolveResult, Step

_HEALTH = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


class TrmError(Exception):
    """A call that failed: `code` is the gRPC status name (e.g. "INVALID_ARGUMENT"), `message`
    the server's explanation (e.g. "sudoku: bad character 'x' at position 17")."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @classmethod
    def from_rpc(cls, error: grpc.RpcError) -> "TrmError":
        return cls(error.code().name, error.details() or "")


def _read(value: Union[None, bytes, str, os.PathLike]) -> Optional[bytes]:
    """PEM given as bytes, or as the path of a file holding it."""
    if value is None or isinstance(value, bytes):
        return value
    with open(value, "rb") as f:
        return f.read()


class Client:
    """A connection to trm-server.

        with trm_serve.Client("localhost:50051") as client:
            result = client.solve_sudoku("53..7....6..195..." )
            for step in client.stream_steps(sudoku="53..7...."):
                print(step.step, step.confidence)

    `timeout` (seconds) is every call's deadline unless a call gives its own; None: no deadline.
    TLS: `tls=True` (the system's roots), or `root_certificates` (PEM bytes or a file path); for
    mutual TLS also `private_key` and `certificate_chain`; `server_name` overrides the name the
    certificate is checked against. `channel` uses a channel you made instead.
    """

    def __init__(self, target: str = "localhost:50051", *, timeout: Optional[float] = 60.0,
                 tls: bool = False, root_certificates=None, private_key=None,
                 certificate_chain=None, server_name: Optional[str] = None,
                 options: Sequence = (), channel: Optional[grpc.Channel] = None):
        self.timeout = timeout
        if channel is None:
            options = list(options)
            if tls or root_certificates or private_key or certificate_chain:
                creds = grpc.ssl_channel_credentials(
                    root_certificates=_read(root_certificates), private_key=_read(private_key),
                    certificate_chain=_read(certificate_chain))
                if server_name:
                    options.append(("grpc.ssl_target_name_override", server_name))
                channel = grpc.secure_channel(target, creds, options=options)
            else:
                channel = grpc.insecure_channel(target, options=options)
        self._channel = channel
        self._solver = solver_pb2_grpc.SolverStub(channel)
        self._health = health_pb2_grpc.HealthStub(channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- Queries ---------------------------------------------------------------------------------

    def models(self, *, timeout: Optional[float] = None) -> List[ModelInfo]:
        """The loaded models (ListModels)."""
        response = self._call(self._solver.ListModels, solver_pb2.ListModelsRequest(), timeout)
        return [ModelInfo.from_proto(m) for m in response.models]

    def health(self, service: str = "", *, timeout: Optional[float] = None) -> str:
        """grpc.health.v1 status of the server ("") or of one model: "SERVING", "NOT_SERVING"."""
        response = self._call(self._health.Check,
                              health_pb2.HealthCheckRequest(service=service), timeout)
        return _HEALTH.get(response.status, str(response.status))

    # -- Solving ---------------------------------------------------------------------------------
    # Options (all optional; 0 / False: the model's or the server's default): max_steps,
    # min_steps, ignore_halting, halt_threshold, exact_fallback, dihedral_views; for ARC
    # augmentations and attempts. request_id is echoed in the result.

    def solve_sudoku(self, puzzle: str, *, model: str = "", timeout: Optional[float] = None,
                     **options) -> SolveResult:
        """81 characters: digits 1-9, '.' or '0' for blanks (whitespace is ignored)."""
        return self._solve(self._request(model, options, sudoku="".join(puzzle.split())),
                           timeout)

    def solve_maze(self, maze: Union[str, Sequence[str]], *, model: str = "",
                   timeout: Optional[float] = None, **options) -> SolveResult:
        """Rows ('#' wall, ' ' or '.' open, 'S' start, 'G' goal), as a list or one string."""
        return self._solve(self._request(model, options, maze=_maze_rows(maze)), timeout)

    def solve_arc(self, task_id: str, grid: Sequence[Sequence[int]], *, model: str = "",
                  augmentations: int = 0, attempts: int = 0, timeout: Optional[float] = None,
                  train: Sequence[dict] = (), **options) -> SolveResult:
        """A test input of an ARC task; `grid` is rows of colours. For a task the checkpoint was
        not trained on, `train` (the task's pairs, [{"input": rows, "output": rows}, ...]) has
        the server fit a puzzle embedding for it first (the result's `arc_fit` says how)."""
        options.update(arc_augmentations=augmentations, arc_attempts=attempts)
        query = _arc_query(task_id, grid)
        for i, pair in enumerate(train):
            query.train.add(input=_grid(pair["input"], f"train[{i}].input"),
                            output=_grid(pair["output"], f"train[{i}].output"))
        return self._solve(self._request(model, options, arc=query), timeout)

    def solve_tokens(self, tokens: Sequence[int], *, model: str, puzzle_identifier: int = 0,
                     timeout: Optional[float] = None, **options) -> SolveResult:
        """Raw tokens in `model`'s vocabulary (its seq_len of them)."""
        puzzle = solver_pb2.TokenPuzzle(tokens=list(tokens), puzzle_identifier=puzzle_identifier)
        return self._solve(self._request(model, options, tokens=puzzle), timeout)

    def stream_steps(self, sudoku: Optional[str] = None, *,
                     maze: Union[None, str, Sequence[str]] = None,
                     tokens: Optional[Sequence[int]] = None, puzzle_identifier: int = 0,
                     model: str = "", timeout: Optional[float] = None,
                     **options) -> Iterator[Step]:
        """Every ACT step of a solve as it happens (SolveSteps); the last has final=True and the
        result. Give one of sudoku, maze or tokens. Leaving the loop early cancels the call,
        which frees the request's batch slot on the server."""
        given = [k for k, v in (("sudoku", sudoku), ("maze", maze), ("tokens", tokens))
                 if v is not None]
        if len(given) != 1:
            raise ValueError("stream_steps: give exactly one of sudoku, maze or tokens")
        if sudoku is not None:
            request = self._request(model, options, sudoku="".join(sudoku.split()))
        elif maze is not None:
            request = self._request(model, options, maze=_maze_rows(maze))
        else:
            request = self._request(model, options, tokens=solver_pb2.TokenPuzzle(
                tokens=list(tokens), puzzle_identifier=puzzle_identifier))
        call = self._solver.SolveSteps(request, timeout=self._timeout(timeout))
        try:
            for message in call:
                yield Step.from_proto(message)
        except grpc.RpcError as error:
            raise TrmError.from_rpc(error) from None
        finally:
            call.cancel()  # No-op once the stream has ended.

    # -- Internals -------------------------------------------------------------------------------

    def _timeout(self, timeout: Optional[float]) -> Optional[float]:
        return self.timeout if timeout is None else timeout

    def _call(self, method, request, timeout):
        try:
            return method(request, timeout=self._timeout(timeout))
        except grpc.RpcError as error:
            raise TrmError.from_rpc(error) from None

    def _solve(self, request, timeout) -> SolveResult:
        return SolveResult.from_proto(self._call(self._solver.Solve, request, timeout))

    @staticmethod
    def _request(model: str, options: dict, **puzzle):
        request_id = options.pop("request_id", "")
        try:
            opts = solver_pb2.SolveOptions(**options)
        except ValueError as error:  # An unknown option name.
            raise TypeError(f"unknown solve option: {error}") from None
        return solver_pb2.SolveRequest(model=model, options=opts, request_id=request_id, **puzzle)


def _maze_rows(maze: Union[str, Sequence[str]]):
    rows = maze.splitlines() if isinstance(maze, str) else list(maze)
    return solver_pb2.MazePuzzle(rows=[r.rstrip("\r\n") for r in rows if r.strip()])


def _grid(grid: Sequence[Sequence[int]], field: str = "the grid"):
    rows = [list(r) for r in grid]
    cols = len(rows[0]) if rows else 0
    if any(len(r) != cols for r in rows):
        raise ValueError(f"solve_arc: {field}'s rows differ in length")
    return solver_pb2.Grid(rows=len(rows), cols=cols, cells=[c for r in rows for c in r])


def _arc_query(task_id: str, grid: Sequence[Sequence[int]]):
    return solver_pb2.ArcQuery(task_id=task_id, input=_grid(grid))
