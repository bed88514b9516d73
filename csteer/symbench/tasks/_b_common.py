"""Helpers shared by the part-B task modules: the question.txt + solution.json layout and
small parsing utilities used by several verifiers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from csteer.fileio import atomic_write_text
from csteer.symbench.answers import MAX_ANSWER_CHARS, extract_marked
from csteer.symbench.base import Sample, Verdict


def _sample_sort_key(path: Path) -> tuple:
    # "sample_11_10_2" sorts numerically part by part
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[_\-]", path.name))


def iter_sample_dirs(root: Path, data_dir: str) -> Iterator[Path]:
    """Sample folders (those holding question.txt and solution.json) under root/data_dir."""
    base = Path(root) / data_dir
    if not base.is_dir():
        return
    for sub in sorted((p for p in base.iterdir() if p.is_dir()), key=_sample_sort_key):
        if (sub / "question.txt").is_file() and (sub / "solution.json").is_file():
            yield sub


def read_qs(folder: Path) -> tuple[str, Any]:
    question = (folder / "question.txt").read_text(encoding="utf-8")
    solution = json.loads((folder / "solution.json").read_text(encoding="utf-8"))
    return question, solution


def write_qs(folder: Path, question: str, solution: Any) -> Path:
    atomic_write_text(folder / "question.txt", question)
    atomic_write_text(folder / "solution.json", json.dumps(solution, indent=2))
    return folder


def next_sample_dir(base: Path, prefix: str = "sample_") -> Path:
    """The first free `prefix<N>` folder under `base`."""
    base.mkdir(parents=True, exist_ok=True)
    taken = {p.name for p in base.iterdir()}
    n = 0
    while f"{prefix}{n}" in taken:
        n += 1
    return base / f"{prefix}{n}"


def answer_body(answer_text: Any, limit: int = MAX_ANSWER_CHARS) -> tuple[str | None, Verdict | None]:
    """The `<<<...>>>` content of an answer, or a rejecting Verdict for empty/huge/non-text input."""
    if not isinstance(answer_text, str):
        return None, Verdict(False, "answer is not text")
    if len(answer_text) > limit:
        return None, Verdict(False, f"answer too long ({len(answer_text)} chars)")
    body = extract_marked(answer_text)
    if not body:
        return None, Verdict(False, "empty answer")
    return body, None


_INT_RE = re.compile(r"[+-]?\d+")
_NUM_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def int_tokens(text: str) -> list[int]:
    return [int(t) for t in _INT_RE.findall(text)]


def number_tokens(text: str) -> list[str]:
    return _NUM_RE.findall(text)


def flatten(value: Any, depth: int = 0) -> list[Any] | None:
    """Flatten nested lists/tuples (at most 4 levels deep); None when deeper or not a list."""
    if depth > 4:
        return None
    if not isinstance(value, list | tuple):
        return [value]
    out: list[Any] = []
    for item in value:
        sub = flatten(item, depth + 1)
        if sub is None:
            return None
        out.extend(sub)
    return out


class QuestionSolutionLayout:
    """load_dir/write_sample for the common layout <data_dir>/sample_<i>/{question.txt,solution.json}.

    By default solution.json is a dict whose "solution" key is the reference solution and whose other
    keys become `meta`; tasks with another schema override `from_stored` / `to_stored`.
    """

    id: str
    data_dirs: tuple[str, ...]

    def from_stored(self, sample_id: str, question: str, data: Any) -> Sample:
        meta = {k: v for k, v in data.items() if k != "solution"}
        return Sample(self.id, sample_id, question, data.get("solution"), meta)

    def to_stored(self, sample: Sample) -> Any:
        return {**sample.meta, "solution": sample.solution}

    def load_dir(self, root: Path) -> Iterator[Sample]:
        for folder in iter_sample_dirs(root, self.data_dirs[0]):
            question, data = read_qs(folder)
            yield self.from_stored(folder.name, question, data)

    def write_sample(self, sample: Sample, out_dir: Path) -> Path:
        folder = next_sample_dir(Path(out_dir) / self.data_dirs[0])
        return write_qs(folder, sample.question, self.to_stored(sample))


def letters_list(body: str) -> list[str] | None:
    """Letters written as A,B,C / [A, B, C] / ['A','B','C'] / A B C; None for anything else."""
    cleaned = re.sub(r"[\[\]()'\"]", " ", body)
    parts = [p for p in re.split(r"[\s,]+", cleaned) if p]
    if not parts or any(not re.fullmatch(r"[A-Za-z]", p) for p in parts):
        return None
    return [p.upper() for p in parts]
