"""Selfcheck: stored reference solutions verified by their tasks' verifiers."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

from csteer.symbench.base import all_tasks, get_task
from csteer.symbench.generate import generate_samples
from csteer.symbench.loader import write_samples
from csteer.symbench.selfcheck import selfcheck

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "SYMBENCH.md"
# registered tasks the original dataset_gather/ copy holds no samples for
NO_DATA_IN_SHARED_COPY = {"path_plan"}


def documented_wrong() -> list[tuple[str, str]]:
    """(task, sample id or glob) rows of the "wrong reference solutions" section of docs/SYMBENCH.md."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Stored reference solutions that are wrong")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end >= 0 else None]
    return re.findall(r"^\|\s*`?([a-z0-9_]+)`?\s*\|\s*`([^`]+)`\s*\|", section, re.MULTILINE)


def _generated(tmp_path: Path) -> Path:
    write_samples("number_multiply", generate_samples("number_multiply", 4, 2, seed=1), tmp_path)
    write_samples("letters", generate_samples("letters", 3, 1, seed=1), tmp_path)
    return tmp_path


def test_selfcheck_accepts_generated_data(tmp_path: Path) -> None:
    reports = {r.task: r for r in selfcheck(_generated(tmp_path))}
    assert set(reports) == {"number_multiply", "letters"}
    assert (reports["number_multiply"].total, reports["number_multiply"].accepted) == (4, 4)
    assert (reports["letters"].total, reports["letters"].accepted) == (3, 3)


def test_selfcheck_flags_a_wrong_stored_answer(tmp_path: Path) -> None:
    root = _generated(tmp_path)
    target = sorted(root.glob("number_multiply/*/*/target_answer.txt"))[0]
    target.write_text(str(int(target.read_text()) + 1))
    (report,) = selfcheck(root, ["number_multiply"])
    assert report.accepted == 3
    ((sample_id, reason),) = report.rejected
    assert sample_id == target.parent.relative_to(root).as_posix()
    assert "not the product" in reason
    assert report.to_json()["rejected"] == [{"sample": sample_id, "reason": reason}]


def test_selfcheck_turns_a_crashing_verifier_into_a_rejection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = get_task("letters")

    def broken(sample, answer):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(task, "verify", broken)
    (report,) = selfcheck(_generated(tmp_path), ["letters"])
    assert report.accepted == 0 and all("RuntimeError: boom" in reason for _, reason in report.rejected)


def test_selfcheck_reports_progress(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    selfcheck(_generated(tmp_path), ["letters"], progress=lambda *a: seen.append(a))
    assert seen == [("letters", 1, 3), ("letters", 2, 3), ("letters", 3, 3)]


def test_docs_list_wrong_references_by_task_and_id() -> None:
    tasks = all_tasks()
    for task, _ in documented_wrong():
        assert task in tasks, f"docs/SYMBENCH.md lists an unknown task {task!r}"


def test_selfcheck_over_the_original_dataset(symbench_data: Path) -> None:
    reports = {r.task: r for r in selfcheck(symbench_data)}
    missing = set(all_tasks()) - set(reports) - NO_DATA_IN_SHARED_COPY
    assert not missing, (
        f"registered tasks with no samples recognised under {symbench_data}: {sorted(missing)}"
    )
    documented = documented_wrong()
    undocumented = [
        (task, sample, reason)
        for task, report in reports.items()
        for sample, reason in report.rejected
        if not any(t == task and fnmatch.fnmatchcase(sample, pattern) for t, pattern in documented)
    ]
    assert not undocumented, (
        f"{len(undocumented)} rejected references not in docs/SYMBENCH.md: {undocumented[:10]}"
    )
    for task, report in reports.items():
        assert report.total > 0
        if task in {
            "number_multiply",
            "letters",
            "gsm_hard",
            "math_geometry",
            "math_counting_probability",
            "date_understanding",
            "web_of_lies",
            "logical_deduction",
            "navigation",
        }:
            assert report.accepted == report.total, (task, report.rejected[:5])
