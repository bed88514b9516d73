from __future__ import annotations

import json
from pathlib import Path

import pytest

from csteer.bench.report import build_report
from tests.helpers import run_csteer


def write(path: Path, rows: list[tuple[str, str, str, bool, str | None]]) -> None:
    with path.open("w") as fh:
        for task, method, sample, correct, error in rows:
            fh.write(
                json.dumps(
                    {
                        "task": task,
                        "method": method,
                        "sample_id": sample,
                        "correct": correct,
                        "error": error,
                        "task_tokens": 100,
                        "coach_tokens": 40 if method == "codesteer" else 0,
                        "seconds": 2.0,
                    }
                )
                + "\n"
            )


def grid(task: str, method: str, correct: list[bool]) -> list[tuple[str, str, str, bool, str | None]]:
    return [(task, method, f"s{i}", c, None) for i, c in enumerate(correct)]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    path = tmp_path / "r.jsonl"
    rows = (
        grid("number_multiply", "all-code", [True, True, False, False])  # 50
        + grid("number_multiply", "codesteer", [True, True, True, True])  # 100
        + grid("letters", "all-code", [True, False, False, False])  # 25
        + grid("letters", "codesteer", [False, False, False, False])  # 0
        + grid("game24", "all-code", [False, False])  # 0: every method 0 -> out of Ave.Norm
        + grid("game24", "codesteer", [False, False])
    )
    # an errored line superseded by a retry, and one still errored
    rows.insert(0, ("letters", "codesteer", "s0", False, "server down"))
    rows.append(("letters", "codesteer", "s4", False, "timed out"))
    write(path, rows)
    return path


def test_accuracy_average_and_ave_norm(results: Path) -> None:
    report = build_report(results)
    assert report.tasks == ["game24", "letters", "number_multiply"]  # registry order
    assert report.cells[("letters", "codesteer")].n == 5  # s0 counted once (latest), s4 errored
    assert report.cells[("letters", "codesteer")].errors == 1
    assert report.cells[("number_multiply", "all-code")].accuracy == 50.0
    assert report.average("all-code") == pytest.approx((0 + 25 + 50) / 3)
    # Eq. 2 over letters and number_multiply (game24: all zero): all-code 25/25, 50/100
    assert report.ave_norm("all-code") == pytest.approx(100 * (1.0 + 0.5) / 2)
    assert report.ave_norm("codesteer") == pytest.approx(100 * (0.0 + 1.0) / 2)
    assert any("every method scored 0" in n for n in report.notes)
    assert any("superseded" in n for n in report.notes)
    # the paper's Table 1 beside it, for the matching methods
    assert report.paper["codesteer"]["number_multiply"] == 95.0
    assert report.paper["all-code"]["number_multiply"] == 100.0


def test_report_command_renders_table_json_html_png(results: Path, tmp_path: Path) -> None:
    html, png = tmp_path / "out" / "r.html", tmp_path / "r.png"
    proc = run_csteer(["bench", "report", str(results), "--html", str(html), "--png", str(png)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout
    for text in ("number_multiply", "codesteer", "Ave.Norm", "(paper)", "50.0", "100.0", "75.0", "25.0"):
        assert text in table, text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    page = html.read_text()
    assert (
        "<table>" in page
        and "number_multiply" in page
        and "75.0" in page
        and "data:image/png;base64," in page
    )
    proc = run_csteer(["bench", "report", str(results), "--json"], tmp_path)
    data = json.loads(proc.stdout)
    assert data["methods"]["all-code"]["ave_norm"] == 75.0
    assert data["methods"]["codesteer"]["per_task"]["letters"]["errors"] == 1
    assert data["ave_norm_tasks"] == ["letters", "number_multiply"]


def test_report_errors_are_one_line(tmp_path: Path) -> None:
    proc = run_csteer(["bench", "report", str(tmp_path / "nope.jsonl")], tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("csteer: error: no results file")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    proc = run_csteer(["bench", "report", str(empty)], tmp_path)
    assert proc.returncode == 2 and "holds no results" in proc.stderr and "Traceback" not in proc.stderr


def test_sandbox_that_cannot_run_code_is_refused() -> None:
    from csteer.bench.runner import _check_sandbox
    from csteer.errors import CsteerError
    from csteer.sandbox import Result

    class Broken:
        def run(self, code: str) -> Result:
            return Result("policy", "", "Line 1: import of 'os' is not allowed", None, 0.0, False)

    with pytest.raises(CsteerError, match="sandbox cannot run code \\(policy: Line 1"):
        _check_sandbox(Broken())
