"""TRM Serve's Python client: solve Sudoku, mazes and ARC tasks with Tiny Recursive Models over
gRPC, and watch every reasoning step.

    import trm_serve
    with trm_serve.Client("localhost:50051") as client:
        print(client.solve_sudoku("53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"))
"""
from .client import Client, TrmError
from .types import ArcAttempt, ArcFit, ModelInfo, SolveResult, Step, Timing

__all__ = ["Client", "TrmError", "ArcAttempt", "ArcFit", "ModelInfo", "SolveResult", "Step", "Timing"]
__version__ = "0.1.0"
