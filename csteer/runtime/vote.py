"""Sample and vote (PAL with self-consistency): several sampled attempts, the answer most of them reach.

A small model's single greedy program is often broken in a way a second sample is not; answers that
independent samples agree on are far more often right than any one sample. This module holds the rules
of a vote; the loop draws the candidates and runs them.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

from csteer.runtime.record import Candidate

TEMPLATE = "<<<answer>>>"  # the format hint, copied literally by a model that did not compute anything


def screen_program(code: str | None) -> str | None:
    """Why a drafted program is not worth running (None: run it)."""
    if code is None or not code.strip():
        return "no program in the reply"
    try:
        ast.parse(code)
    except SyntaxError as err:
        return f"does not parse: {err.msg} (line {err.lineno})"
    if TEMPLATE in code:
        return "copies the answer template literally"
    return None


def is_template(answer: str) -> bool:
    """An answer that is the format hint itself (`print('<<<{answer}>>>')` without the f)."""
    return answer.strip().strip("{}").strip().lower() == "answer"


def normalise(answer: str) -> str:
    """The form answers are compared in: case, spacing and list punctuation do not split a vote,
    nor 25.0 against 25."""
    text = " ".join(answer.strip().strip(".").lower().split())
    text = re.sub(r"\s*([,;:])\s*", r"\1 ", text).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def tally(candidates: list[Candidate]) -> tuple[str | None, int, int]:
    """(the winning answer as first spelled, its votes, all votes). Ties go to the earliest candidate,
    so the greedy draw (drawn first) decides between equals."""
    votes = [c.answer for c in candidates if c.answer is not None]
    if not votes:
        return None, 0, 0
    counts = Counter(normalise(v) for v in votes)
    best = max(counts.values())
    winner = next(v for v in votes if counts[normalise(v)] == best)
    return winner, best, len(votes)
