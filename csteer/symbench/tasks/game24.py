"""Game 24: combine the given numbers with + - * / into an expression equal to the target.

Original layout: game24_dataset/<target>/<target>_<count>_number.csv with columns Rank, Puzzles,
Solutions (and 24/24.csv, the classic 4-number set with solve-rate statistics and no solutions;
for those the reference solution is found by our own exact solver).
The verifier parses the expression with `ast` (numbers and + - * / only), evaluates it with exact
Fractions (the reference compared floats with `==`) and checks each given number is used exactly once.
"""

from __future__ import annotations

import ast
import csv
import io
import random
import re
from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from csteer.fileio import atomic_write_text
from csteer.symbench.answers import answer_body
from csteer.symbench.base import Sample, Task, Verdict, register

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
MAX_EXPR_CHARS = 4000

# complexity -> (how many numbers, target, largest number)
LEVELS: dict[int, tuple[int, int, int]] = {
    1: (3, 24, 40),
    2: (4, 24, 13),
    3: (5, 24, 20),
    4: (8, 240, 20),
    5: (20, 24, 20),
}


def question_for(numbers: list[int], target: int) -> str:
    nums = " ".join(str(n) for n in numbers)
    return (
        f"Use numbers and basic arithmetic operations (+ - * /) to obtain {target}. "
        "Each number should be used only once but each number has to be used in the equation. "
        "Input: 9 10 11 13, Answer: ((10-9)*(11+13)) = 24 Input: 4 10 10 11, Answer: ((4*11)-(10+10)) = 24 "
        "Input: 5 6 13 13, Answer: ((5-(13/13))*6)"
        "Input: 2 6 6 7, Answer: ((6+(6*7))/2) Input: 2 6 10 18, Answer: (2-(6-(10+18)))"
        f"Input: {nums} Answer:\nOutput final answer with the format <<<answer>>>."
    )


class _Reject(Exception):
    pass


def _normalize(expr: str) -> str:
    expr = expr.replace("\\times", "*").replace("\\cdot", "*").replace("\\div", "/")
    expr = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", expr)
    for a, b in (("×", "*"), ("·", "*"), ("÷", "/"), ("−", "-"), ("–", "-"), ("[", "("), ("]", ")")):
        expr = expr.replace(a, b)
    expr = expr.replace("{", "(").replace("}", ")").replace("\\left", "").replace("\\right", "")
    return expr.replace("$", "").strip().rstrip(".")


def _evaluate(node: ast.AST, used: list[int]) -> Fraction:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, used)
    if isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 0:
        used.append(node.value)
        return Fraction(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left = _evaluate(node.left, used)
        right = _evaluate(node.right, used)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if right == 0:
            raise _Reject("division by zero")
        return left / right
    raise _Reject(f"only non-negative integers and + - * / are allowed, found {type(node).__name__}")


def evaluate_expression(expr: str) -> tuple[Fraction, list[int]]:
    """Exact value of an arithmetic expression and the numbers it uses; raises _Reject."""
    if len(expr) > MAX_EXPR_CHARS:
        raise _Reject("expression too long")
    if not re.fullmatch(r"[0-9\s+\-*/()]+", expr):
        raise _Reject("expression contains characters other than digits, + - * / and parentheses")
    if "**" in expr or "//" in expr:
        raise _Reject("only + - * / are allowed")
    try:
        tree = ast.parse(expr, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise _Reject(f"not a valid expression ({type(exc).__name__})") from None
    used: list[int] = []
    try:
        value = _evaluate(tree, used)
    except RecursionError:
        raise _Reject("expression nested too deeply") from None
    return value, used


def solve(numbers: list[int], target: int) -> str | None:
    """An expression over `numbers` equal to `target` (exact search), or None."""
    seen: set[tuple] = set()

    def rec(items: list[tuple[Fraction, str]]) -> str | None:
        if len(items) == 1:
            return items[0][1] if items[0][0] == target else None
        key = tuple(sorted(v for v, _ in items))
        if key in seen:
            return None
        seen.add(key)
        n = len(items)
        for i in range(n):
            for j in range(i + 1, n):
                (a, ea), (b, eb) = items[i], items[j]
                rest = [items[k] for k in range(n) if k not in (i, j)]
                cands = [
                    (a + b, f"({ea}+{eb})"),
                    (a * b, f"({ea}*{eb})"),
                    (a - b, f"({ea}-{eb})"),
                    (b - a, f"({eb}-{ea})"),
                ]
                if b != 0:
                    cands.append((a / b, f"({ea}/{eb})"))
                if a != 0:
                    cands.append((b / a, f"({eb}/{ea})"))
                for value, text in cands:
                    found = rec([*rest, (value, text)])
                    if found:
                        return found
        return None

    return rec([(Fraction(x), str(x)) for x in numbers])


@register
class Game24(Task):
    id = "game24"
    paper_name = "Game 24"
    split = "seen"
    description = "Combine the given numbers with + - * / (each used exactly once) to reach the target."
    answer_format = "an arithmetic expression, e.g. <<<((10-9)*(11+13)) = 24>>>"
    data_dirs = ("game24_dataset",)
    complexities = (1, 2, 3, 4, 5)

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        target = Fraction(sample.meta["target"])
        expr = _normalize(body)
        if "=" in expr:
            parts = expr.split("=")
            sides = [p.strip() for p in parts if p.strip()]
            # "expr = 24" or "24 = expr": the side that is not the bare target is the expression
            rhs = [s for s in sides if s == str(sample.meta["target"])]
            lhs = [s for s in sides if s != str(sample.meta["target"])]
            if len(lhs) != 1 or not rhs:
                return Verdict(False, f"cannot read one expression equal to {target} from {body[:80]!r}")
            expr = lhs[0]
        try:
            value, used = evaluate_expression(expr)
        except _Reject as exc:
            return Verdict(False, str(exc))
        want = Counter(sample.meta["numbers"])
        got = Counter(used)
        if got != want:
            missing = sorted((want - got).elements())
            extra = sorted((got - want).elements())
            return Verdict(False, f"numbers must be used exactly once: missing {missing}, extra {extra}")
        if value != target:
            return Verdict(False, f"expression equals {value}, not {target}")
        return Verdict(True, f"uses every number once and equals {target}")

    def load_dir(self, root: Path) -> Iterator[Sample]:
        base = Path(root) / self.data_dirs[0]
        if not base.is_dir():
            return
        for csv_path in sorted(base.glob("*/*.csv")):
            target = int(csv_path.parent.name) if csv_path.parent.name.isdigit() else 24
            with csv_path.open(newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    numbers = [int(x) for x in row["Puzzles"].split()]
                    solution = (row.get("Solutions") or "").strip() or solve(numbers, target)
                    yield Sample(
                        task=self.id,
                        id=f"{csv_path.parent.name}/{csv_path.name}#{row['Rank']}",
                        question=question_for(numbers, target),
                        solution=solution,
                        meta={"numbers": numbers, "target": target},
                    )

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        count, target, hi = LEVELS.get(complexity, LEVELS[2])
        while True:
            numbers, expr = _random_puzzle(rng, count, target, hi)
            if expr is not None:
                break
        numbers.sort()
        return Sample(
            task=self.id,
            id=f"gen_{target}_{count}_{rng.randrange(10**9)}",
            question=question_for(numbers, target),
            solution=expr,
            meta={"numbers": numbers, "target": target, "complexity": complexity},
        )

    def write_sample(self, sample: Sample, out_dir: Path) -> Path:
        target, numbers = sample.meta["target"], sample.meta["numbers"]
        folder = Path(out_dir) / self.data_dirs[0] / str(target)
        path = folder / f"{target}_{len(numbers)}_number.csv"
        rows: list[list[str]] = []
        if path.exists():
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.reader(fh))[1:]
        rows.append([str(len(rows) + 1), " ".join(map(str, numbers)), str(sample.solution)])
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["Rank", "Puzzles", "Solutions"])
        writer.writerows(rows)
        atomic_write_text(path, buf.getvalue())
        return folder


def _random_puzzle(rng: random.Random, count: int, target: int, hi: int) -> tuple[list[int], str | None]:
    """Random numbers with a solution: exact search for small counts, construction for large ones."""
    if count <= 4:
        numbers = [rng.randint(1, hi) for _ in range(count)]
        return numbers, solve(numbers, target)
    # build an expression over count-1 random numbers, then close it with one number to hit target
    numbers = [rng.randint(1, hi) for _ in range(count - 1)]
    value, expr = Fraction(numbers[0]), str(numbers[0])
    for x in numbers[1:]:
        op = rng.choice("+-*" if value < target * 4 else "+-/")
        value = {"+": value + x, "-": value - x, "*": value * x, "/": value / x}[op]
        expr = f"({expr}{op}{x})"
    for last, make in (
        (target - value, lambda e, x: f"({e}+{x})"),
        (value - target, lambda e, x: f"({e}-{x})"),
        (value / target if target else None, lambda e, x: f"({e}/{x})"),
    ):
        if last is not None and last.denominator == 1 and 1 <= last <= max(hi, target * 2):
            return [*numbers, int(last)], make(expr, int(last))
    return numbers, None
