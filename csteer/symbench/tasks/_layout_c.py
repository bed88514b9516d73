"""Shared plumbing for the part-C task modules: the original folder layout and a guarded verify.

Each sample lives in its own folder holding `question.txt` and `solution.json`.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from csteer.fileio import atomic_write_text
from csteer.symbench.answers import MAX_ANSWER_CHARS, extract_marked
from csteer.symbench.base import Sample, Task, Verdict


def _natural_key(path: Path) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(path))]


def iter_sample_dirs(root: Path, data_dirs: tuple[str, ...]) -> Iterator[tuple[str, Path]]:
    """(sample id, folder) for every folder holding a question.txt under root/<data_dir>, sorted naturally."""
    for name in data_dirs:
        base = Path(root) / name
        if not base.is_dir():
            continue
        for q in sorted(base.rglob("question.txt"), key=_natural_key):
            if (q.parent / "solution.json").is_file():
                yield q.parent.relative_to(root).as_posix(), q.parent


def read_sample_files(folder: Path) -> tuple[str, dict[str, Any]]:
    question = (folder / "question.txt").read_text(encoding="utf-8")
    solution = json.loads((folder / "solution.json").read_text(encoding="utf-8"))
    return question, solution


def write_sample_files(task: Task, sample: Sample, out_dir: Path, solution: dict[str, Any]) -> Path:
    """Write question.txt + solution.json under out_dir/<first data dir>/<sample folder name>."""
    folder = Path(out_dir) / task.data_dirs[0] / Path(sample.id).name
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "question.txt", sample.question)
    atomic_write_text(folder / "solution.json", json.dumps(solution, indent=2))
    return folder


def new_sample_id(rng: random.Random) -> str:
    return f"sample_{rng.getrandbits(40):010x}"


class MalformedAnswer(ValueError):
    """Raised by a task's checker when the answer cannot be parsed into the expected shape."""


def guarded(check: Callable[[Any, Sample, str], Verdict]) -> Callable[[Any, Sample, str], Verdict]:
    """Wrap a checker that receives the extracted `<<<...>>>` content; malformed input never raises."""

    @functools.wraps(check)
    def verify(self: Any, sample: Sample, answer_text: str) -> Verdict:
        if not isinstance(answer_text, str):
            return Verdict(False, "answer is not text")
        if len(answer_text) > MAX_ANSWER_CHARS:
            return Verdict(False, f"answer longer than {MAX_ANSWER_CHARS} characters")
        content = extract_marked(answer_text)
        if not content:
            return Verdict(False, "empty answer")
        try:
            return check(self, sample, content)
        except MalformedAnswer as exc:
            return Verdict(False, f"malformed answer: {exc}")
        except (ValueError, TypeError, KeyError, IndexError, RecursionError, OverflowError) as exc:
            return Verdict(False, f"malformed answer ({type(exc).__name__})")

    return verify


def ints_in(text: str) -> list[int]:
    """The integers of a list written as `[1, 2]`, `1 2`, `"1","2"`, ...; anything else in it is an error."""
    if re.search(r"\d\.\d", text):
        raise MalformedAnswer("expected integers, found a decimal number")
    stray = re.sub(r"[\d\s,;\[\]()\"'+-]", "", text)
    if stray:
        raise MalformedAnswer(f"unexpected characters {stray[:20]!r} in a list of integers")
    found = re.findall(r"-?\d+", text)
    if any(len(f) > 30 for f in found):
        raise MalformedAnswer("number too long")
    return [int(f) for f in found]
