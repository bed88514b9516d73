"""`csteer bench` end to end with the real embedded model (llama.cpp in-process, and llama-cpp-python's
own OpenAI-compatible server on loopback). Kept small: a handful of single-turn samples each."""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from csteer.bench.results import read_results
from tests.helpers import free_port, run_csteer, start_llama_server, stop_process

pytestmark = pytest.mark.slow


def records(path: Path) -> list[dict]:
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", "the file must end with a complete line"
    return [json.loads(line) for line in lines[:-1]]


def html_table(page: str) -> list[list[str]]:
    """The report's table as rows of cell texts (header first)."""
    return [re.findall(r"<t[dh]>(.*?)</t[dh]>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page)]


def test_two_tasks_two_methods_then_report(csteer_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    args = ["bench", "--tasks", "number_multiply,letters", "--method", "all-code,only-question"]
    args += ["--samples", "3", "--seed", "3", "--out", str(out)]
    proc = run_csteer(args, csteer_home)
    assert proc.returncode == 0, proc.stderr
    assert "runs in-process: samples run one at a time" in proc.stderr
    rows = records(out)
    assert len(rows) == 12
    assert {(r["task"], r["method"]) for r in rows} == {
        (t, m) for t in ("number_multiply", "letters") for m in ("all-code", "only-question")
    }
    assert len({(r["task"], r["method"], r["sample_id"]) for r in rows}) == 12
    for r in rows:
        assert r["error"] is None and isinstance(r["correct"], bool) and r["reason"]
        assert r["turns"] == 1 and r["task_tokens"] > 0 and r["seconds"] > 0
        assert r["code_runs"] in (0, 1) and (r["code_status"] is None) == (r["code_runs"] == 0)
    # the table printed at the end covers the file
    assert "Ave.Norm" in proc.stdout and "letters" in proc.stdout

    # a second run with the same arguments has nothing left to do and loads no model
    again = run_csteer(args, csteer_home)
    assert again.returncode == 0, again.stderr
    assert "0 new record(s)" in again.stderr and "12 already done" in again.stderr
    assert len(records(out)) == 12

    html, png = tmp_path / "r.html", tmp_path / "r.png"
    rep = run_csteer(
        ["bench", "report", str(out), "--html", str(html), "--png", str(png), "--json"], csteer_home
    )
    assert rep.returncode == 0, rep.stderr
    data = json.loads(rep.stdout)
    table = html_table(html.read_text())
    header, by_task = table[0], {line[0]: line for line in table[1:]}
    for task in ("number_multiply", "letters"):
        for method in ("all-code", "only-question"):
            mine = [r for r in rows if r["task"] == task and r["method"] == method]
            cell = data["methods"][method]["per_task"][task]
            assert cell["n"] == 3 and cell["correct"] == sum(r["correct"] for r in mine)
            # the HTML cell of this task and method, not any "0.0" somewhere on the page ("100.0")
            assert by_task[task][header.index(method)] == f"{cell['accuracy']:.1f}", by_task[task]
    assert png.read_bytes()[:4] == b"\x89PNG"
    table = run_csteer(["bench", "report", str(out)], csteer_home)
    assert "number_multiply" in table.stdout and "only-question" in table.stdout


def product_in(question: str) -> int:
    """The product a number_multiply question asks for, read from its text (not from the task's checker)."""
    found = re.search(r"of (-?\d+)\*(-?\d+)\?", question)
    assert found, question
    return int(found.group(1)) * int(found.group(2))


def _arith(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return Fraction(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        a, b = _arith(node.left), _arith(node.right)
        ops = {ast.Add: a.__add__, ast.Sub: a.__sub__, ast.Mult: a.__mul__, ast.Div: a.__truediv__}
        return ops[type(node.op)](b)
    raise ValueError("not + - * / of integers")


def solves_game24(question: str, answer: str | None) -> bool:
    """An answer is right when it uses exactly the given numbers and evaluates to 24 (judged here)."""
    given = re.findall(r"Input: ([\d ]+) Answer:", question)[-1].split()
    if answer is None:
        return False
    expr = answer.split("=")[0].strip()
    if sorted(re.findall(r"\d+", expr)) != sorted(given):
        return False
    try:
        return _arith(ast.parse(expr, mode="eval")) == 24
    except (SyntaxError, ValueError, ZeroDivisionError):
        return False


def test_right_answers_are_marked_correct_and_wrong_ones_wrong(csteer_home: Path, tmp_path: Path) -> None:
    """Every record's `correct` agrees with an independent judgement of its answer (the product read from
    the question; for Game 24, the numbers used and the value), and the run holds both kinds: samples the
    embedded model solves, marked correct, and samples it cannot solve, marked wrong.

    Picked by running with the fixed seed 3 (temperature 0): at this commit the model solves 3 of the 10
    two-digit products (70*93 in code and in text, -47*10 in text), answers -47*10 with -4700 in code, and
    answers each of the three Game 24 samples with a bare "24". Which ones it solves moves with the prompts
    and the llama.cpp build (issue 19), so only "at least one of each" is required; what is marked must
    agree with the judgement here."""
    from csteer.symbench.generate import generate_samples

    common = ["bench", "--seed", "3", "-q"]
    mult, g24 = tmp_path / "mult.jsonl", tmp_path / "g24.jsonl"
    args = [
        "--tasks",
        "number_multiply",
        "--method",
        "all-code,all-text",
        "--samples",
        "5",
        "--out",
        str(mult),
    ]
    proc = run_csteer([*common, *args], csteer_home)
    assert proc.returncode == 0, proc.stderr
    args = ["--tasks", "game24", "--method", "all-code", "--samples", "3", "--out", str(g24)]
    proc = run_csteer([*common, *args], csteer_home)
    assert proc.returncode == 0, proc.stderr
    questions = {
        s.id: s.question
        for s in generate_samples("number_multiply", 5, seed=3) + generate_samples("game24", 3, seed=3)
    }
    rows = records(mult) + records(g24)
    assert len(rows) == 13 and {r["sample_id"] for r in rows} == set(questions)
    judged: dict[bool, list[tuple[str, str, str | None]]] = {True: [], False: []}
    for r in rows:
        question, answer = questions[r["sample_id"]], r["answer"]
        if r["task"] == "game24":
            right = solves_game24(question, answer)
        else:
            plain = re.sub(r"(?<=\d)[, _](?=\d{3})", "", answer or "").strip()  # "6,510" is 6510
            right = re.fullmatch(r"[+-]?\d+", plain) is not None and int(plain) == product_in(question)
        assert r["correct"] is right, (r["method"], r["sample_id"], answer, r["reason"])
        judged[right].append((r["method"], r["sample_id"], answer))
    assert judged[True], (
        "the model solved none of the picked samples: nothing shows a solved one marked correct"
    )
    assert judged[False], "the model solved every picked sample: nothing shows a wrong answer marked wrong"


def test_sigkill_mid_run_then_resume_completes_exactly_the_rest(csteer_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    args = ["bench", "--tasks", "number_multiply", "--method", "all-code", "--samples", "4", "--seed", "7"]
    args += ["--out", str(out), "-q"]
    env = {**os.environ, "CSTEER_HOME": str(csteer_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "csteer", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 1:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    done_before = records(out)
    assert 1 <= len(done_before) < 4
    # what a crash in the middle of a write would leave: an unfinished last line
    with out.open("ab") as fh:
        fh.write(b'{"v":1,"task":"number_multiply","method":"all-co')

    resumed = run_csteer(args, csteer_home)
    assert resumed.returncode == 0, resumed.stderr
    assert "removed an unfinished final line" in resumed.stderr
    rows = records(out)
    assert len(rows) == 4 and len({r["sample_id"] for r in rows}) == 4
    assert rows[: len(done_before)] == done_before  # finished lines are never rewritten
    assert all(isinstance(r["correct"], bool) for r in rows)
    assert f"{len(done_before)} already done" in resumed.stderr
    assert read_results(out).bad_lines == []


@pytest.fixture
def server_port(embedded_gguf: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield free_port(), started
    for proc in started:
        stop_process(proc)


def test_server_errors_are_recorded_retried_and_concurrency_matches_serial(
    csteer_home: Path, embedded_gguf: Path, tmp_path: Path, server_port: tuple[int, list]
) -> None:
    port, started = server_port
    model = ["-m", f"openai:gemma@http://127.0.0.1:{port}/v1", "--task-kind", "base"]
    common = ["bench", *model, "--method", "all-code", "--samples", "2", "--seed", "5"]
    serial, parallel = tmp_path / "k1.jsonl", tmp_path / "k4.jsonl"

    # server not up yet: every sample records an error and the run goes on to the end
    down = run_csteer([*common, "--tasks", "number_multiply", "--out", str(serial), "-q"], csteer_home)
    assert down.returncode == 1 and "2 sample(s) failed with an error" in down.stderr
    assert "Traceback" not in down.stderr
    errored = records(serial)
    assert len(errored) == 2 and all(r["error"] and r["correct"] is None for r in errored)

    started.append(start_llama_server(embedded_gguf, port))
    tasks = ["--tasks", "number_multiply,letters"]
    # without --retry-errors the errored samples stay as they are; the new task runs
    plain = run_csteer([*common, *tasks, "--out", str(serial), "-q"], csteer_home)
    assert plain.returncode == 0, plain.stderr
    assert "2 sample(s) errored in an earlier run" in plain.stderr
    assert len(records(serial)) == 4
    retried = run_csteer([*common, *tasks, "--out", str(serial), "--retry-errors", "-q"], csteer_home)
    assert retried.returncode == 0, retried.stderr
    assert "2 new record(s)" in retried.stderr
    assert len(records(serial)) == 6  # the retries supersede the errored lines; nothing else re-ran

    k4 = run_csteer([*common, *tasks, "--out", str(parallel), "--concurrency", "4", "-q"], csteer_home)
    assert k4.returncode == 0, k4.stderr
    assert "one at a time" not in k4.stderr
    latest1 = read_results(serial).latest()
    latest4 = read_results(parallel).latest()
    assert set(latest1) == set(latest4) and len(latest4) == 4
    for key, rec in latest4.items():
        assert rec["error"] is None and latest1[key]["error"] is None
        assert (rec["correct"], rec["answer"]) == (latest1[key]["correct"], latest1[key]["answer"]), key
