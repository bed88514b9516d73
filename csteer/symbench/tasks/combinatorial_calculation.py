"""Combinatorial Calculation: insert + - * / and parentheses between numbers (order fixed) to hit a target.

The answer is tokenised and evaluated by a small exact (Fraction) parser; model output is never eval'd.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction
from typing import Any

from csteer.symbench.answers import MalformedAnswer, guarded
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask, new_sample_id

_COUNTS = {1: 3, 2: 4, 3: 5, 4: 6, 5: 8, 6: 10, 7: 15, 8: 20}
_TOKEN = re.compile(r"\d+|[-+*/()]")
MAX_DEPTH = 200


def tokenize(content: str) -> list[str]:
    text = content.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = re.sub(r"[\s,\"'`]", "", text).replace("×", "*").replace("÷", "/").replace("x", "*")
    stray = re.sub(r"[\d+\-*/()]", "", text)
    if stray:
        raise MalformedAnswer(f"unexpected characters {stray[:20]!r}")
    return _TOKEN.findall(text)


def evaluate(tokens: list[str]) -> tuple[Fraction, list[int]]:
    """Value of the token list and the numbers it uses, in order; MalformedAnswer on bad syntax."""
    pos, used = 0, []

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise MalformedAnswer("expression ends early")
        pos += 1
        return tokens[pos - 1]

    def expr(depth: int) -> Fraction:
        value = term(depth)
        while peek() in ("+", "-"):
            value = value + term(depth) if take() == "+" else value - term(depth)
        return value

    def term(depth: int) -> Fraction:
        value = factor(depth)
        while peek() in ("*", "/"):
            op, rhs = take(), factor(depth)
            if op == "/" and rhs == 0:
                raise MalformedAnswer("division by zero")
            value = value * rhs if op == "*" else value / rhs
        return value

    def factor(depth: int) -> Fraction:
        if depth > MAX_DEPTH:
            raise MalformedAnswer("parentheses nested too deeply")
        tok = take()
        if tok == "(":
            value = expr(depth + 1)
            if take() != ")":
                raise MalformedAnswer("unbalanced parentheses")
            return value
        if tok.isdigit():
            used.append(int(tok))
            return Fraction(int(tok))
        raise MalformedAnswer(f"unexpected {tok!r}")

    value = expr(0)
    if pos != len(tokens):
        raise MalformedAnswer(f"unexpected {tokens[pos]!r} after the expression")
    return value, used


def _question(numbers: list[int], target: int) -> str:
    return (
        f"Given {len(numbers)} integers between 1 and 9, perform arithmetic operations (addition, subtraction, "
        "multiplication, division, and parentheses) between these integers. Each number must be used exactly once "
        f"and only once, and the final result should be {target}. Note: The order of the numbers is determined by "
        "the input, and you cannot change the order of the numbers. You can only insert arithmetic operations or "
        "parentheses between the numbers.\nReturn the answer with a list of values and calculation symbols. Return "
        "your answer with the format <<<list of values and symbols>>>, like <<<[1, +, 3]>>> means 1+3, "
        "<<<[4, -, (, 6, *, 9, )]>>> means 4-(6*9).Now the input numbers are: "
        f"{', '.join(map(str, numbers))}, the target values is: {target}\n Your answer:"
    )


def _random_expression(rng: random.Random, numbers: list[int]) -> tuple[Fraction, list[str]]:
    if len(numbers) == 1:
        return Fraction(numbers[0]), [str(numbers[0])]
    cut = rng.randint(1, len(numbers) - 1)
    (lv, lt), (rv, rt) = _random_expression(rng, numbers[:cut]), _random_expression(rng, numbers[cut:])
    op = rng.choice("+-*/" if rv else "+-*")
    value = {"+": lv + rv, "-": lv - rv, "*": lv * rv, "/": lv / rv if rv else lv}[op]
    wrap_l = ["(", *lt, ")"] if len(lt) > 1 and op in "*/" else lt
    wrap_r = ["(", *rt, ")"] if len(rt) > 1 and op != "+" else rt
    return value, [*wrap_l, op, *wrap_r]


@register
class CombinatorialCalculation(SampleFolderTask):
    id = "combinatorial_calculation"
    paper_name = "Combinatorial Calcul."
    split = "unseen"
    description = "Insert arithmetic operators and parentheses between fixed-order digits to reach a target."
    answer_format = "a list of numbers and symbols, e.g. [4, -, (, 6, *, 9, )]"
    data_dirs = ("combinatorial_calculation", "combinatorial_calculation_varied_complexity")
    complexities = (1, 2, 3, 4, 5, 6, 7, 8)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        count = _COUNTS.get(complexity, 5)
        while True:
            numbers = [rng.randint(1, 9) for _ in range(count)]
            value, tokens = _random_expression(rng, numbers)
            if value.denominator == 1 and 1 <= value <= 1000:
                break
        target = int(value)
        stored = {"numbers": numbers, "target": target, "solution": tokens, "complexity": complexity}
        return Sample(
            self.id,
            new_sample_id(rng),
            _question(numbers, target),
            stored,
            {"numbers": numbers, "target": target},
        )

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        tokens = tokenize(content)
        if not tokens:
            raise MalformedAnswer("no expression")
        value, used = evaluate(tokens)
        numbers, target = sample.meta["numbers"], sample.meta["target"]
        if used != numbers:
            return Verdict(False, f"uses the numbers {used}, expected {numbers} in this order")
        if value != target:
            return Verdict(False, f"evaluates to {value}, not {target}")
        return Verdict(True, f"uses {numbers} in order and evaluates to {target}")

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        m = re.search(r"the input numbers are: ([\d, ]+), the target values is: (-?\d+)", question)
        numbers = [int(v) for v in m.group(1).split(",")]  # type: ignore[union-attr]
        return Sample(self.id, sample_id, question, solution, {"numbers": numbers, "target": int(m.group(2))})  # type: ignore[union-attr]

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return "<<<[" + ", ".join(sample.solution["solution"]) + "]>>>"
