"""trm_serve.Client against a live trm-server (conftest.py): every call, typed results, errors,
deadlines, early exit from a stream (its slot freed), TLS, and the example script."""
import dataclasses
import json
import os
import subprocess
import sys
import time

import pytest

import live
import trm_serve
import trm_serve.arc

# A 30-given sudoku the bundled model solves.
SUDOKU = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
# A 9x9 maze (GET /v1/example?model=maze&seed=3), shortest path 18 steps.
MAZE = [
    "#########",
    "#       #",
    "####### #",
    "#   #   #",
    "# #G#S###",
    "# # #   #",
    "# ##### #",
    "#       #",
    "#########",
]


@pytest.fixture
def client(server):
    with trm_serve.Client(server.address(), timeout=60) as c:
        yield c


def wait_metric(server, name, want, at_least=False, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        value = live.sample_sum(server.metrics(), name)
        if value == want or (at_least and value > want):
            return True
        time.sleep(0.05)
    return False


def test_models_and_health(client):
    models = {m.name: m for m in client.models()}
    assert set(models) == {"sudoku", "maze", "arc_tiny"}
    sudoku = models["sudoku"]
    assert isinstance(sudoku, trm_serve.ModelInfo)
    assert (sudoku.task, sudoku.seq_len, sudoku.is_default) == ("sudoku", 81, True)
    assert sudoku.parameters > 100_000 and 0 < sudoku.halt_threshold < 1
    assert models["maze"].maze_side == 9
    assert client.health() == "SERVING"
    assert client.health("maze") == "SERVING"
    with pytest.raises(trm_serve.TrmError) as e:
        client.health("no-such-model")
    assert e.value.code == "NOT_FOUND"


def test_solve_sudoku(client):
    r = client.solve_sudoku(SUDOKU, request_id="py-1")
    assert isinstance(r, trm_serve.SolveResult)
    assert r.verified and r.verification == "verified", r
    assert len(r.answer) == 81 and all(a == g for a, g in zip(r.answer, SUDOKU) if g != ".")
    assert r.source == "model" and r.model == "sudoku" and r.request_id == "py-1"
    assert r.halt_reason in ("q_head", "max_steps") and r.steps >= 1
    assert r.timing.total_ms > 0 and r.timing.compute_ms > 0
    # Options reach the server: every one of 3 steps, one view.
    fixed = client.solve_sudoku(SUDOKU, ignore_halting=True, max_steps=3, dihedral_views=1)
    assert (fixed.steps, fixed.halt_reason) == (3, "fixed_steps")
    assert (fixed.views, fixed.views_agreeing) == (1, 1)
    # Eight views: the vote says how many ran and how many agreed.
    voted = client.solve_sudoku(SUDOKU, dihedral_views=8)
    assert 1 <= voted.views_agreeing <= voted.views <= 8 and voted.views > 1, voted


def test_solve_maze_takes_rows_or_text(client):
    r = client.solve_maze(MAZE, exact_fallback=True)
    assert r.verified, r
    assert len(r.answer) == 9 and r.answer[0] == MAZE[0]
    assert sum(row.count("o") for row in r.answer) == 17  # 18 steps: 17 cells between S and G.
    assert client.solve_maze("\n".join(MAZE), exact_fallback=True).answer == r.answer


def test_solve_arc_and_tokens(client):
    # arc_tiny knows task 007bbfb7 (tests/data/arc_tiny); it does not solve ARC, so only the shape.
    r = client.solve_arc("007bbfb7", [[7, 0, 7], [7, 0, 7], [7, 7, 0]], model="arc_tiny",
                         augmentations=8)
    assert 1 <= len(r.arc_attempts) <= 2
    for attempt in r.arc_attempts:
        assert attempt.grid and all(len(row) == len(attempt.grid[0]) for row in attempt.grid)
        assert all(0 <= c <= 9 for row in attempt.grid for c in row)
    assert r.answer == r.arc_attempts[0].grid and r.verification == "not_checkable"
    assert r.arc_fit is None  # A known task runs on its own puzzle ids.
    t = client.solve_tokens([1] * 81, model="sudoku", max_steps=2)
    assert len(t.answer) == 81 and all(isinstance(x, int) for x in t.answer)
    assert t.verification == "not_checkable"


def test_stream_steps(client):
    steps = list(client.stream_steps(sudoku=SUDOKU, ignore_halting=True, max_steps=4))
    assert [s.step for s in steps] == [1, 2, 3, 4]
    assert [s.final for s in steps] == [False, False, False, True]
    assert all(isinstance(s, trm_serve.Step) and len(s.answer) == 81 for s in steps)
    assert steps[0].result is None and steps[-1].result.steps == 4
    assert steps[-1].answer == steps[-1].result.answer
    maze = list(client.stream_steps(maze=MAZE, max_steps=2, ignore_halting=True))
    assert maze[-1].final and len(maze[-1].answer) == 9
    with pytest.raises(ValueError):
        list(client.stream_steps())


def test_leaving_a_stream_early_frees_its_slot(client, server):
    stream = client.stream_steps(sudoku=SUDOKU, ignore_halting=True, max_steps=1024)
    first = next(stream)
    assert first.step == 1 and not first.final
    assert wait_metric(server, "trm_active_requests", 1, at_least=True)  # A slot per view.
    stream.close()  # What a `break` out of the for loop does.
    assert wait_metric(server, "trm_active_requests", 0), server.metrics()
    assert live.sample_sum(server.metrics(), "trm_requests_total", method="SolveSteps",
                           code="CANCELLED") == 1


def test_errors_carry_the_code_and_the_servers_message(client):
    with pytest.raises(trm_serve.TrmError) as e:
        client.solve_sudoku("12x" + "." * 78)
    assert e.value.code == "INVALID_ARGUMENT"
    assert "sudoku: bad character 'x' at position 2" in e.value.message
    with pytest.raises(trm_serve.TrmError) as e:
        client.solve_sudoku(SUDOKU, model="nope")
    assert e.value.code == "NOT_FOUND"
    with pytest.raises(trm_serve.TrmError) as e:
        client.solve_sudoku(SUDOKU, ignore_halting=True, max_steps=1024, timeout=0.2)
    assert e.value.code == "DEADLINE_EXCEEDED"
    with pytest.raises(TypeError):
        client.solve_sudoku(SUDOKU, colour="red")
    with trm_serve.Client("127.0.0.1:1", timeout=2) as nowhere:
        with pytest.raises(trm_serve.TrmError) as e:
            nowhere.models()
        assert e.value.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")


def test_tls(tmp_path_factory):
    from conftest import start

    certs = tmp_path_factory.mktemp("certs")
    key, cert = certs / "key.pem", certs / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    server = start(tmp_path_factory, "tls", [f"--tls_cert={cert}", f"--tls_key={key}"])
    try:
        with trm_serve.Client(server.address(), root_certificates=str(cert),
                              server_name="localhost", timeout=30) as c:
            assert c.health() == "SERVING"
            assert c.solve_sudoku(SUDOKU).verified
        with trm_serve.Client(server.address(), timeout=5) as plain:
            with pytest.raises(trm_serve.TrmError):
                plain.models()
    finally:
        server.stop()


def test_example_script(server, source_dir, tmp_path):
    script = os.path.join(source_dir, "client", "python", "examples", "solve.py")

    def run(*args):
        r = subprocess.run([sys.executable, script, "--target", server.address(), *args],
                           capture_output=True, text=True, timeout=120)
        return r.returncode, [json.loads(line) for line in r.stdout.splitlines()], r.stderr

    code, out, _ = run("models")
    assert code == 0 and {m["name"] for m in out} == {"sudoku", "maze", "arc_tiny"}
    code, out, _ = run("sudoku", SUDOKU)
    assert code == 0 and out[0]["verification"] == "verified" and out[0]["model"] == "sudoku"
    code, out, _ = run("--stream", "--max_steps", "2", "sudoku", SUDOKU)
    assert code == 0 and out[-1]["final"] is True
    maze = tmp_path / "maze.txt"
    maze.write_text("\n".join(MAZE) + "\n")
    code, out, _ = run("maze", str(maze))
    assert code == 0 and len(out[0]["answer"]) == 9
    code, out, err = run("--model", "nope", "sudoku", SUDOKU)
    assert code == 1 and "error: NOT_FOUND" in err
    assert dataclasses.is_dataclass(trm_serve.SolveResult)


def test_solve_arc_fits_an_unseen_task_from_its_pairs(server):
    # No deadline of the test's own: a fit's time is the machine's (pytest's run tells a hang).
    with trm_serve.Client(server.address(), timeout=None) as client:
        _check_fits_an_unseen_task(client)


def _check_fits_an_unseen_task(client):
    train = [{"input": [[1, 0], [0, 1]], "output": [[2, 0], [0, 2]]},
             {"input": [[0, 1, 1]], "output": [[0, 2, 2]]}]
    with pytest.raises(trm_serve.TrmError) as unseen:
        client.solve_arc("unseen-recolour", [[1, 1], [0, 1]], model="arc_tiny")
    assert unseen.value.code == "NOT_FOUND" and "arc.train" in unseen.value.message
    first = client.solve_arc("unseen-recolour", [[1, 1], [0, 1]], model="arc_tiny", train=train)
    assert first.arc_fit is not None and not first.arc_fit.cache_hit
    assert first.arc_fit.fit_ms > 0 and first.arc_fit.updates == 4
    assert first.arc_attempts
    again = client.solve_arc("unseen-recolour", [[0, 1], [1, 1]], model="arc_tiny", train=train)
    assert again.arc_fit.cache_hit and again.arc_fit.fit_ms == first.arc_fit.fit_ms
    with pytest.raises(ValueError, match=r"train\[1\].output's rows differ"):
        client.solve_arc("unseen-recolour", [[1]], model="arc_tiny",
                         train=[train[0], {"input": [[1]], "output": [[1, 2], [3]]}])


def _arc_fixture(source_dir, kind):
    return os.path.join(source_dir, "tests", "data", "arc_tiny", f"arc-agi_training_{kind}.json")


def test_arc_run_scores_a_challenges_file(client, source_dir, tmp_path):
    # arc_tiny's four tasks in the ARC Prize format: a submission with one entry per test input,
    # and the official score recomputed here from it.
    challenges = _arc_fixture(source_dir, "challenges")
    solutions = _arc_fixture(source_dir, "solutions")
    lines = []
    run = trm_serve.arc.run(client, challenges, solutions, model="arc_tiny", augmentations=4,
                            concurrency=1, progress=lines.append)
    assert not run.errors and run.tests_failed == 0
    tasks = json.load(open(challenges))
    sols = json.load(open(solutions))
    assert set(run.submission) == set(tasks)
    score = 0.0
    for task_id, entries in run.submission.items():
        assert len(entries) == len(tasks[task_id]["test"])
        solved = 0
        for entry, want in zip(entries, sols[task_id]):
            for attempt in ("attempt_1", "attempt_2"):
                grid = entry[attempt]
                assert 1 <= len(grid) <= 30 and all(0 <= c <= 9 for row in grid for c in row)
            solved += want in (entry["attempt_1"], entry["attempt_2"])
        score += solved / len(entries)
    assert run.score == score and run.report["score"] == score
    assert len(lines) == 4 and lines[-1].startswith("[" + "#" * 30 + "] 4/4 tasks")
    # arc_tiny solves none of them, so that score is 0 however counted: solutions made of the
    # model's own first attempt on the first task must score it (one call at a time in both runs,
    # so each request's rows are batched alike and the model answers as before).
    first = sorted(tasks)[0]
    sols[first] = [run.submission[first][0]["attempt_1"]]
    own = tmp_path / "own_solutions.json"
    own.write_text(json.dumps(sols))
    again = trm_serve.arc.run(client, challenges, str(own), model="arc_tiny", augmentations=4,
                              concurrency=1)
    assert again.report["tasks"][first]["tests"][0]["solved"] is True
    assert again.score >= 1.0 and again.report["tests_solved"] >= 1


def test_arc_run_names_bad_tasks_and_runs_the_others(client, source_dir, tmp_path):
    tasks = json.load(open(_arc_fixture(source_dir, "challenges")))
    tasks["ragged"] = {"train": [], "test": [{"input": [[1, 2], [3]]}]}
    tasks["tall"] = {"train": [], "test": [{"input": [[1]] * 31}]}
    path = tmp_path / "challenges.json"
    path.write_text(json.dumps(tasks))
    run = trm_serve.arc.run(client, str(path), model="arc_tiny", augmentations=2)
    assert run.errors == {
        "ragged": "task ragged test[0].input: arc grid: row 2 has 1 cells, row 1 has 2",
        "tall": "task tall test[0].input: arc grid: 31 rows exceed 30"}
    assert set(run.submission) == set(tasks) - {"ragged", "tall"} and run.score is None
    path.write_text("{not json")
    with pytest.raises(trm_serve.arc.ArcFileError, match="challenges: not JSON"):
        trm_serve.arc.run(client, str(path))


def test_arc_run_command(server, source_dir, tmp_path):
    out = tmp_path / "submission.json"
    r = subprocess.run([sys.executable, "-m", "trm_serve", "arc", "run",
                        _arc_fixture(source_dir, "challenges"), "--solutions",
                        _arc_fixture(source_dir, "solutions"), "--out", str(out), "--target",
                        server.address(), "--model", "arc_tiny", "--augmentations", "2"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "score: " in r.stdout and " of 4 tasks = " in r.stdout
    assert len(json.load(open(out))) == 4
    assert json.load(open(tmp_path / "submission_report.json"))["task_count"] == 4
