from __future__ import annotations

import json
from pathlib import Path

import pytest

from csteer.bench.results import ResultsWriter, read_results
from csteer.errors import CsteerError, UsageError


def record(sample: str, correct: bool | None = True, error: str | None = None) -> dict:
    return {"task": "t", "method": "m", "sample_id": sample, "correct": correct, "error": error}


def test_append_writes_whole_lines_that_read_back(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ResultsWriter(path) as writer:
        assert writer.open().records == []
        writer.append(record("a"))
        writer.append(record("b", False) | {"answer": "line\nbreak ünï"})
    data = path.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 2
    contents = read_results(path)
    assert [r["sample_id"] for r in contents.records] == ["a", "b"]
    assert contents.records[1]["answer"] == "line\nbreak ünï"


def test_torn_final_line_is_truncated_and_complete_lines_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    good = json.dumps(record("a")) + "\n"
    path.write_text(good + '{"task": "t", "method": "m", "sam')
    assert read_results(path).torn_bytes > 0  # the report only ignores it
    assert path.read_text().endswith('"sam')
    writer = ResultsWriter(path)
    contents = writer.open()
    assert contents.torn_bytes == len('{"task": "t", "method": "m", "sam')
    assert [r["sample_id"] for r in contents.records] == ["a"]
    writer.append(record("b"))
    writer.close()
    assert path.read_text() == good + json.dumps(record("b"), separators=(",", ":")) + "\n"


def test_bad_complete_lines_are_reported_not_removed(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(
        json.dumps(record("a")) + '\nnot json\n[1, 2]\n{"task": 1}\n' + json.dumps(record("b")) + "\n"
    )
    before = path.read_bytes()
    writer = ResultsWriter(path)
    contents = writer.open()
    writer.close()
    assert contents.bad_lines == [2, 3, 4]
    assert [r["sample_id"] for r in contents.records] == ["a", "b"]
    assert path.read_bytes() == before


def test_latest_line_per_key_wins(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ResultsWriter(path) as writer:
        writer.open()
        writer.append(record("a", None, "server down"))
        writer.append(record("b"))
        writer.append(record("a", False))
    latest = read_results(path).latest()
    assert list(latest) == [("t", "m", "a"), ("t", "m", "b")]
    assert latest[("t", "m", "a")]["error"] is None and latest[("t", "m", "a")]["correct"] is False


def test_second_writer_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    first = ResultsWriter(path)
    first.open()
    try:
        with pytest.raises(CsteerError, match="in use by another"):
            ResultsWriter(path).open()
    finally:
        first.close()
    second = ResultsWriter(path)
    second.open()  # free again once the first is closed
    second.close()


def test_missing_results_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no results file"):
        read_results(tmp_path / "absent.jsonl")
