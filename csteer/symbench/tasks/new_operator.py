"""New Operator: evaluate an expression over newly defined binary operators.

Original layout: new_operator_dataset/sample_<i>/{question.txt, solution.json {"solution", "complexity",
"operator_definitions"}}. The verifier recomputes the value exactly from the question: operator
definitions are parsed (three templates: c1*a+c2*b, c*a*b, (a + b)/b), parentheses first, then
left to right. The reference's own evaluator stopped after the first operator application it found,
so its stored answers for the 3-operator questions are wrong (documented in docs/SYMBENCH.md).
"""

from __future__ import annotations

import random
import re
from fractions import Fraction
from typing import Any

from csteer.symbench.answers import answer_body, parse_number
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask

OPERATORS = ["#", "@", "$", "&", "%", "~"]
_DEF = re.compile(r"Define a(\S)b to be (.+?)\.\s*$", re.M)
_LINEAR = re.compile(r"^(\d+)\*a\+(\d+)\*b$")
_PRODUCT = re.compile(r"^(\d+)\*a\*b$")
REL_TOL = 1e-6


def apply(formula: str, a: Fraction, b: Fraction) -> Fraction:
    f = formula.replace(" ", "")
    if m := _LINEAR.match(f):
        return int(m.group(1)) * a + int(m.group(2)) * b
    if m := _PRODUCT.match(f):
        return int(m.group(1)) * a * b
    if f == "(a+b)/b":
        if b == 0:
            raise ZeroDivisionError("division by zero")
        return (a + b) / b
    raise ValueError(f"unknown operator formula {formula!r}")


def evaluate(expr: str, defs: dict[str, str]) -> Fraction:
    """Parentheses first, then operators strictly left to right (they share one precedence)."""
    tokens = re.findall(r"\d+|[()]|\S", expr.replace(" ", ""))
    pos = 0

    def operand() -> Fraction:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            value = sequence()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise ValueError("unbalanced parentheses")
            pos += 1
            return value
        if tok.isdigit():
            return Fraction(int(tok))
        raise ValueError(f"unexpected token {tok!r}")

    def sequence() -> Fraction:
        nonlocal pos
        value = operand()
        while pos < len(tokens) and tokens[pos] in defs:
            op = tokens[pos]
            pos += 1
            value = apply(defs[op], value, operand())
        return value

    result = sequence()
    if pos != len(tokens):
        raise ValueError("trailing tokens")
    return result


def parse_question(question: str) -> dict[str, Any]:
    defs = {op: formula for op, formula in _DEF.findall(question)}
    m = re.search(r"Calculate (.+?)\.\s*$", question, re.M)
    if not m or not defs:
        raise ValueError("cannot read the operators or the expression")
    return {"defs": defs, "expression": m.group(1)}


def question_for(defs: dict[str, str], expression: str) -> str:
    lines = [f"Let a and b be numbers. Define a{op}b to be {f}." for op, f in defs.items()]
    head = ""
    if len(defs) > 1:
        ops = list(defs)
        head = (
            f"Let x and y represent two numbers. The new operations {', '.join(ops[:-1])} and {ops[-1]} "
            "are defined as follows:\n"
        )
    return (
        head + "\n".join(lines) + f"\nCalculate {expression}.\n"
        "Return your answer with format <<<list of values and symbols>>>"
    )


@register
class NewOperator(SampleFolderTask):
    id = "new_operator"
    paper_name = "New Operator"
    split = "seen"
    description = "Evaluate an expression built from newly defined binary operators."
    answer_format = "one number, e.g. <<<90>>> (fractions like 11/6 and decimals accepted)"
    data_dirs = ("new_operator_dataset",)
    folder_name_ids = True
    complexities = (1, 2, 3, 4, 5)

    def from_stored(self, sample_id: str, question: str, data: Any) -> Sample:
        meta = {
            **parse_question(question),
            "complexity": data.get("complexity"),
            "operator_definitions": data.get("operator_definitions"),
        }
        # keep the stored answer as the reference even where it is wrong: selfcheck must show those
        return Sample(self.id, sample_id, question, data.get("solution"), meta)

    def to_stored(self, sample: Sample) -> Any:
        m = sample.meta
        return {
            "solution": sample.solution,
            "complexity": m.get("complexity"),
            "operator_definitions": m["defs"],
        }

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        cleaned = body.strip().strip("[]").strip()
        got = parse_number(cleaned)
        if got is None:
            return Verdict(False, f"expected one number, got {body[:60]!r}")
        try:
            want = evaluate(sample.meta["expression"], sample.meta["defs"])
        except (ValueError, ZeroDivisionError) as exc:
            return Verdict(False, f"question cannot be evaluated: {exc}")
        if abs(got - want) <= REL_TOL * max(Fraction(1), abs(want)):
            return Verdict(True, f"equals {_show(want)}")
        return Verdict(False, f"expected {_show(want)}, got {_show(got)}")

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        n_ops = 1 if complexity <= 3 else (2 if complexity == 4 else 3)
        ops = rng.sample(OPERATORS, n_ops)
        defs = {op: _random_formula(rng) for op in ops}
        if n_ops == 1:
            op = ops[0]
            nums = [rng.randint(1, 10) for _ in range(complexity + 1)]
            expression = f"{nums[0]}{op}{nums[1]}"
            for x in nums[2:]:
                expression = f"({expression}){op}{x}"
        else:
            nums = [rng.randint(1, 9) for _ in range(n_ops + 1)]
            expression = f"({nums[0]}{ops[0]}{nums[1]})" + "".join(
                f"{o}{x}" for o, x in zip(ops[1:], nums[2:], strict=True)
            )
        meta = {
            "defs": defs,
            "expression": expression,
            "complexity": complexity,
            "operator_definitions": defs,
        }
        value = evaluate(expression, defs)
        return Sample(
            self.id,
            f"gen_{complexity}_{rng.randrange(10**9)}",
            question_for(defs, expression),
            _as_json_number(value),
            meta,
        )

    def reference_answer(self, sample: Sample) -> str | None:
        return None if sample.solution is None else f"<<<{sample.solution}>>>"


def _as_json_number(value: Fraction) -> int | float | str:
    if value.denominator == 1:
        return int(value)
    as_float = float(value)
    return as_float if Fraction(as_float) == value else f"{value.numerator}/{value.denominator}"


def _random_formula(rng: random.Random) -> str:
    kind = rng.randrange(3)
    if kind == 0:
        return f"{rng.randint(1, 5)}*a+{rng.randint(1, 5)}*b"
    if kind == 1:
        return f"{rng.randint(1, 5)}*a*b"
    return "(a + b)/b"


def _show(value: Fraction) -> str:
    """A short rendering that cannot overflow (float() of a 400-digit fraction raises)."""
    try:
        return f"{float(value):g}"
    except OverflowError:
        return "a number too large to show"
