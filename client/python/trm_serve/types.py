"""Plain typed results of TRM Serve calls: dataclasses built from the trm.v1 messages, so callers
need neither protobuf nor the generated stubs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Union

# An answer as Python values: a sudoku is its 81 digits, a maze its rows (the path drawn with 'o'),
# an ARC grid a list of rows of colours, raw tokens a list of ints.
Answer = Union[str, List[str], List[List[int]], List[int], None]

HALT_REASONS = {0: "unspecified", 1: "q_head", 2: "max_steps", 3: "fixed_steps"}
VERIFICATIONS = {0: "unspecified", 1: "verified", 2: "invalid", 3: "not_checkable"}
SOURCES = {0: "unspecified", 1: "model", 2: "exact_solver"}


def _grid_rows(grid) -> List[List[int]]:
    cells = list(grid.cells)
    return [cells[r * grid.cols:(r + 1) * grid.cols] for r in range(grid.rows)]


def answer_from_proto(answer) -> Answer:
    kind = answer.WhichOneof("value")
    if kind == "sudoku":
        return answer.sudoku
    if kind == "maze":
        return list(answer.maze.rows)
    if kind == "grid":
        return _grid_rows(answer.grid)
    if kind == "tokens":
        return list(answer.tokens.tokens)
    return None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    task: str  # "sudoku", "maze", "arc" or "tokens"
    seq_len: int
    vocab_size: int
    halt_max_steps: int
    device: str
    parameters: int
    is_default: bool
    num_puzzle_identifiers: int
    maze_side: int
    halt_threshold: float
    dihedral_views: int

    @classmethod
    def from_proto(cls, m) -> "ModelInfo":
        return cls(name=m.name, version=m.version, task=m.task, seq_len=m.seq_len,
                   vocab_size=m.vocab_size, halt_max_steps=m.halt_max_steps, device=m.device,
                   parameters=m.parameters, is_default=m.is_default,
                   num_puzzle_identifiers=m.num_puzzle_identifiers, maze_side=m.maze_side,
                   halt_threshold=m.halt_threshold, dihedral_views=m.dihedral_views)


@dataclass(frozen=True)
class Timing:
    queue_ms: float = 0.0
    compute_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True)
class ArcAttempt:
    grid: List[List[int]]
    votes: int
    confidence: float


@dataclass(frozen=True)
class ArcFit:
    """How the server fitted an unseen ARC task's puzzle embedding (ArcQuery.train)."""
    cache_hit: bool     # an earlier request's fit, same pairs
    fit_ms: float
    updates: int
    loss_before: float  # mean loss per labelled cell of the pairs, fresh vs fitted embedding
    loss_after: float


@dataclass(frozen=True)
class SolveResult:
    answer: Answer
    steps: int
    confidence: float
    halt_reason: str    # "q_head", "max_steps" or "fixed_steps"
    verification: str   # "verified", "invalid" or "not_checkable"
    verification_detail: str
    source: str         # "model" or "exact_solver"
    model: str
    model_version: str
    request_id: str
    timing: Timing
    arc_attempts: List[ArcAttempt] = field(default_factory=list)
    views: int = 1            # dihedral views that ran to an answer
    views_agreeing: int = 1   # of those, how many gave the answer
    arc_fit: Optional["ArcFit"] = None  # ARC: set when the task's embedding was fitted

    @property
    def verified(self) -> bool:
        return self.verification == "verified"

    @classmethod
    def from_proto(cls, r) -> "SolveResult":
        return cls(
            answer=answer_from_proto(r.answer), steps=r.steps, confidence=r.confidence,
            halt_reason=HALT_REASONS.get(r.halt_reason, str(r.halt_reason)),
            verification=VERIFICATIONS.get(r.verification, str(r.verification)),
            verification_detail=r.verification_detail,
            source=SOURCES.get(r.source, str(r.source)), model=r.model,
            model_version=r.model_version, request_id=r.request_id,
            timing=Timing(r.timing.queue_ms, r.timing.compute_ms, r.timing.total_ms),
            arc_attempts=[ArcAttempt(_grid_rows(a.grid), a.votes, a.confidence)
                          for a in r.arc_attempts],
            views=r.views, views_agreeing=r.views_agreeing,
            arc_fit=ArcFit(r.arc_fit.cache_hit, r.arc_fit.fit_ms, r.arc_fit.updates,
                           r.arc_fit.loss_before, r.arc_fit.loss_after)
            if r.arc_fit.fitted else None)


@dataclass(frozen=True)
class Step:
    """One ACT step of a streamed solve; the last has final=True and the full result."""
    step: int
    answer: Answer
    confidence: float
    changed_cells: List[int]
    final: bool
    result: Optional[SolveResult] = None

    @classmethod
    def from_proto(cls, s) -> "Step":
        return cls(step=s.step, answer=answer_from_proto(s.answer), confidence=s.confidence,
                   changed_cells=list(s.changed_cells), final=s.final,
                   result=SolveResult.from_proto(s.result) if s.HasField("result") else None)
