"""The everyday question set (tests/data/everyday.jsonl): what a newcomer pipes into `csteer ask`.

Each question has one exact answer. The judge forgives only spelling of the same value: case, spaces,
quotes and brackets around a list, a trailing full stop, `0b`/`0x` prefixes, and `25.0` for `25`.
It is kept apart from SymBench on purpose: these questions tune nothing and measure the embedded default.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from csteer.errors import UsageError


@dataclass(frozen=True)
class Question:
    id: str
    category: str
    question: str
    answer: str


def load(path: str | Path) -> list[Question]:
    """The questions of a JSONL file ({"id", "category", "question", "answer"} per line)."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise UsageError(f"cannot read question set {path}: {err.strerror}") from None
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(row["id"], row["category"], row["question"], str(row["answer"])))
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"{path}:{number}: not a question row") from None
    return questions


_WRAPPERS = "\"'`[](){}"


def _tokens(text: str) -> list[str]:
    text = text.strip().lower().rstrip(".")
    text = "".join(ch for ch in text if ch not in _WRAPPERS)
    return [t for t in re.split(r"[\s,;]+", text) if t]


def _same_token(got: str, want: str) -> bool:
    if got == want:
        return True
    for prefix in ("0b", "0x"):
        if got.startswith(prefix) and got[2:] == want:
            return True
    try:
        return float(got) == float(want)
    except ValueError:
        return False


def correct(answer: str | None, expected: str) -> bool:
    """Whether `answer` is `expected`, up to spelling (see the module docstring)."""
    if answer is None:
        return False
    got, want = _tokens(answer), _tokens(expected)
    return len(got) == len(want) > 0 and all(_same_token(g, w) for g, w in zip(got, want))
