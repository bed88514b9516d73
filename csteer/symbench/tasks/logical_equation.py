"""Logical Equation: assign distinct given numbers to letters so every (in)equation holds.

Original layout: logical_equation/sample_<letters>_<equations>_<i>/{question.txt, solution.json (a list)}.
The verifier parses letters, numbers and constraints from the question and checks the answer is a
permutation of the numbers (the reference ignored distinctness) satisfying every constraint exactly.
"""

from __future__ import annotations

import random
import re
import string
from fractions import Fraction
from typing import Any

from csteer.symbench.answers import answer_body, number_tokens, parse_literal
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask

_CONSTRAINT = re.compile(
    r"^\s*\d+\.\s*(?:"
    r"(?P<a>[A-Z])\s*(?P<op>[+-])\s*(?P<b>[A-Z])\s*=\s*(?P<v>-?\d+)"
    r"|(?P<c>[A-Z])\s*=\s*(?P<k>-?\d+(?:\.\d+)?)\s*\*?\s*(?P<d>[A-Z])"
    r"|(?P<e>[A-Z])\s*(?P<cmp>[<>])\s*(?P<f>[A-Z])"
    r")\s*$"
)
# complexity -> (letters, constraints), following the reference's folder names
LEVELS: dict[int, tuple[int, int]] = {1: (9, 7), 2: (11, 10), 3: (13, 11), 4: (15, 13), 5: (15, 14)}
POOL = [
    1,
    3,
    5,
    7,
    9,
    10,
    12,
    14,
    15,
    16,
    20,
    24,
    27,
    28,
    32,
    36,
    39,
    45,
    48,
    50,
    64,
    75,
    80,
    96,
    100,
    121,
    150,
    225,
    243,
]


def parse_question(question: str) -> dict[str, Any]:
    head = re.search(
        r"There are (\d+) letters ([A-Z ,]+?), each representing one of the numbers ([\d ,.-]+?)\.", question
    )
    if not head:
        raise ValueError("cannot read the letters and numbers")
    letters = re.findall(r"[A-Z]", head.group(2))
    numbers = [int(x) for x in re.findall(r"-?\d+", head.group(3))]
    constraints = []
    for line in question.splitlines():
        m = _CONSTRAINT.match(line)
        if not m:
            continue
        if m.group("a"):
            constraints.append(
                ["sum" if m.group("op") == "+" else "diff", m.group("a"), m.group("b"), int(m.group("v"))]
            )
        elif m.group("c"):
            constraints.append(["times", m.group("c"), m.group("d"), m.group("k")])
        else:
            constraints.append([m.group("cmp"), m.group("e"), m.group("f")])
    return {"letters": letters, "numbers": numbers, "constraints": constraints}


def holds(c: list, val: dict[str, int]) -> bool:
    kind = c[0]
    if kind == "sum":
        return val[c[1]] + val[c[2]] == c[3]
    if kind == "diff":
        return val[c[1]] - val[c[2]] == c[3]
    if kind == "times":
        return Fraction(val[c[1]]) == Fraction(c[3]) * val[c[2]]
    return val[c[1]] > val[c[2]] if kind == ">" else val[c[1]] < val[c[2]]


def render(c: list) -> str:
    if c[0] == "sum":
        return f"{c[1]} + {c[2]} = {c[3]}"
    if c[0] == "diff":
        return f"{c[1]} - {c[2]} = {c[3]}"
    if c[0] == "times":
        return f"{c[1]} = {c[3]}{c[2]}"
    return f"{c[1]} {c[0]} {c[2]}"


def question_for(letters: list[str], numbers: list[int], constraints: list[list]) -> str:
    rules = "\n".join(f"{i}. {render(c)}" for i, c in enumerate(constraints, 1))
    return (
        "Calculate the number for each letter based on the range and set of inequalities that the given letter "
        f"represents. There are {len(letters)} letters {', '.join(letters)}, each representing one of the numbers "
        f"{', '.join(map(str, numbers))}. The system of inequalities is satisfied as follows:\n{rules}\n\n"
        "Return the answers in alphabetical order starting with A, and each element in the list represents the "
        "value of the corresponding letter. Return your answer with the format <<<list of values>>>, like "
        "<<<[1, 2, 3]>>> means that A represents 1, B represents 2, and C represents 3."
    )


@register
class LogicalEquation(SampleFolderTask):
    id = "logical_equation"
    paper_name = "Logical Equation"
    split = "seen"
    description = "Assign the given distinct numbers to letters so that every equation and inequality holds."
    answer_format = "the values of A, B, C, ... in order, e.g. <<<[1, 2, 3]>>>"
    data_dirs = ("logical_equation",)
    folder_name_ids = True
    complexities = (1, 2, 3, 4, 5)

    def from_stored(self, sample_id: str, question: str, data: Any) -> Sample:
        return Sample(self.id, sample_id, question, data, parse_question(question))

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        value = parse_literal(body)
        if not isinstance(value, list):
            tokens = number_tokens(body)
            value = [float(t) for t in tokens] if re.fullmatch(r"[\s\d,.+\-\[\]]*", body) else None
        if not isinstance(value, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            return Verdict(False, "expected a list of numbers")
        m = sample.meta
        if len(value) != len(m["letters"]):
            return Verdict(False, f"expected {len(m['letters'])} values, got {len(value)}")
        if any(float(v) != int(v) for v in value):
            return Verdict(False, "values must be whole numbers")
        ints = [int(v) for v in value]
        if sorted(ints) != sorted(m["numbers"]):
            return Verdict(False, "values must be the given numbers, each used exactly once")
        val = dict(zip(m["letters"], ints, strict=True))
        for i, c in enumerate(m["constraints"], 1):
            if not holds(c, val):
                return Verdict(False, f"constraint {i} ({render(c)}) does not hold")
        return Verdict(
            True, f"a permutation of the numbers satisfying all {len(m['constraints'])} constraints"
        )

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        n_letters, n_rules = LEVELS.get(complexity, LEVELS[2])
        letters = list(string.ascii_uppercase[:n_letters])
        numbers = sorted(rng.sample(POOL, n_letters))
        while True:
            assign = dict(zip(letters, rng.sample(numbers, n_letters), strict=True))
            drawn = [_random_constraint(rng, letters, assign) for _ in range(n_rules * 3)]
            constraints = [c for c in drawn if c][:n_rules]
            # the verifier accepts any assignment meeting every constraint, so uniqueness is not needed
            if len(constraints) == n_rules:
                break
        meta = {"letters": letters, "numbers": numbers, "constraints": constraints, "complexity": complexity}
        return Sample(
            self.id,
            f"gen_{n_letters}_{n_rules}_{rng.randrange(10**9)}",
            question_for(letters, numbers, constraints),
            [assign[x] for x in letters],
            meta,
        )


def _random_constraint(rng: random.Random, letters: list[str], val: dict[str, int]) -> list | None:
    a, b = rng.sample(letters, 2)
    kind = rng.choice(["sum", "sum", "diff", "times", ">"])
    if kind == "sum":
        return ["sum", a, b, val[a] + val[b]]
    if kind == "diff":
        return ["diff", a, b, val[a] - val[b]]
    if kind == "times":
        ratio = Fraction(val[a], val[b])
        if ratio.denominator == 1 or ratio.denominator == 2:
            return ["times", a, b, f"{float(ratio):.1f}"]
        return None
    return [">", a, b] if val[a] > val[b] else [">", b, a]
