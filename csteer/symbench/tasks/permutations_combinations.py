"""Permutations and Combinations: shelve books so that every placement constraint holds.

The verifier checks the answer is a full permutation of the books and satisfies every constraint
(the reference did not check the permutation), so any valid arrangement is accepted.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any

from csteer.symbench.answers import MalformedAnswer, guarded, parse_literal
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask, new_sample_id

# (kind, regex); positions are 1-based as in the question
_CONSTRAINTS = (
    ("not_at", r"Book ([A-Z]) cannot be placed in position (\d+)\."),
    ("at", r"Book ([A-Z]) must be placed in position (\d+)\."),
    ("left_of", r"Book ([A-Z]) must be to the left of book ([A-Z])\."),
    ("right_of", r"Book ([A-Z]) must be to the right of book ([A-Z])\."),
    ("adjacent", r"Book ([A-Z]) must be adjacent to book ([A-Z])\."),
)
_WORDING = {
    "not_at": "Book {a} cannot be placed in position {b}.",
    "at": "Book {a} must be placed in position {b}.",
    "left_of": "Book {a} must be to the left of book {b}.",
    "right_of": "Book {a} must be to the right of book {b}.",
    "adjacent": "Book {a} must be adjacent to book {b}.",
}

Constraint = tuple[str, str, str]  # (kind, book, book or position)


def parse_constraint(text: str) -> Constraint:
    for kind, pattern in _CONSTRAINTS:
        m = re.fullmatch(pattern, text.strip())
        if m:
            return kind, m.group(1), m.group(2)
    raise ValueError(f"unknown constraint wording: {text!r}")


def holds(constraint: Constraint, order: list[str]) -> bool:
    kind, a, b = constraint
    pos = {book: i + 1 for i, book in enumerate(order)}
    if kind == "at":
        return pos[a] == int(b)
    if kind == "not_at":
        return pos[a] != int(b)
    if kind == "left_of":
        return pos[a] < pos[b]
    if kind == "right_of":
        return pos[a] > pos[b]
    return abs(pos[a] - pos[b]) == 1


def _question(items: list[str], constraints: list[str]) -> str:
    n = len(items)
    listed = "\n".join(f"{i}. {c}" for i, c in enumerate(constraints, 1))
    return (
        f"Xiao Wang is a librarian responsible for shelving {n} books labeled {', '.join(items)} on a shelf with "
        f"positions 1 to {n}.\n\nThe constraints are:\n{listed}\n\nQuestion:\nBased on the above conditions, please "
        f"arrange the {n} books from left to right on the bookshelf, i.e. positions 1 through {n}. Return your answer "
        "with the format <<< a list of strings >>>, one solution is enough.for example:\n"
        '<<<["A", "B", "C"]>>>\nYour answer:\n'
    )


def parse_order(content: str) -> list[str]:
    value = parse_literal(content)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip().upper() for v in value]
    if re.sub(r"[A-Za-z\s,\[\]\"'()]", "", content):
        raise MalformedAnswer('expected a list of book labels like ["A", "B", "C"]')
    return [v.upper() for v in re.findall(r"[A-Za-z]+", content)]


@register
class PermutationsCombinations(SampleFolderTask):
    id = "permutations_combinations"
    paper_name = "Permut. and Combina."
    split = "unseen"
    description = "Arrange labelled books on a shelf so that all position and order constraints hold."
    answer_format = 'a list of book labels from position 1 on, e.g. ["A", "B", "C"]'
    data_dirs = ("permutations_and_combinations",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        n = 5 + min(complexity, 4)
        items = list(string.ascii_uppercase[:n])
        order = rng.sample(items, n)
        texts: list[str] = []
        while len(texts) < 3 + complexity:
            kind = rng.choice(list(_WORDING))
            a, b = rng.sample(items, 2)
            if kind in ("at", "not_at"):
                b = str(rng.randint(1, n))
            text = _WORDING[kind].format(a=a, b=b)
            if text not in texts and holds(parse_constraint(text), order):
                texts.append(text)
        stored = {
            "items": items,
            "constraints_text": "\n".join(f"{i}. {c}" for i, c in enumerate(texts, 1)),
            "correct_solution": order,
            "complexity": complexity,
        }
        constraints = [list(parse_constraint(t)) for t in texts]
        return Sample(
            self.id,
            new_sample_id(rng),
            _question(items, texts),
            stored,
            {"items": items, "constraints": constraints},
        )

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        order = parse_order(content)
        items = sample.meta["items"]
        if sorted(order) != sorted(items):
            return Verdict(False, f"{order[:20]} is not an arrangement of all {len(items)} books {items}")
        for i, constraint in enumerate(sample.meta["constraints"], 1):
            if not holds(tuple(constraint), order):
                return Verdict(False, f"constraint {i} ({' '.join(constraint)}) is violated")
        return Verdict(
            True, f"a full arrangement satisfying all {len(sample.meta['constraints'])} constraints"
        )

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        labels = re.search(r"books labeled ([A-Z, ]+) on a shelf", question).group(1)  # type: ignore[union-attr]
        items = [v.strip() for v in labels.split(",")]
        constraints = [list(parse_constraint(t)) for t in re.findall(r"^\d+\. (Book .*)$", question, re.M)]
        return Sample(self.id, sample_id, question, solution, {"items": items, "constraints": constraints})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return "<<<" + str(sample.solution["correct_solution"]).replace("'", '"') + ">>>"
