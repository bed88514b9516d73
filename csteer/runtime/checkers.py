"""The two checkers that feed the coach.

Symbolic checker: static analysis of the task model's program on its AST (never substrings of raw text:
the reference counted "information" as a `for` and missed `from itertools import ...`). It scores how
much real computation the program does and flags programs that just print a literal answer.

Self-answer checker: the task model writes a program that checks its own answer against the question's
constraints; the sandbox runs it; its verdict ("Correct" or the reason) goes to the coach. Warnings on
stderr do not count as failure (the reference treated any stderr as failure).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

SEARCH_MODULES = {"itertools", "heapq", "collections", "bisect", "functools", "networkx", "queue"}
SYMBOLIC_MODULES = {"sympy", "fractions", "decimal", "z3", "math", "cmath", "statistics", "numpy", "scipy"}
SYMBOLIC_CALLS = {"eval", "exec", "sympify", "solve", "simplify", "Symbol", "symbols", "Fraction", "Decimal"}
# calls that enumerate or search a space (strong) and ones that only aggregate over values (weak)
SEARCH_CALLS = {
    "permutations",
    "combinations",
    "product",
    "combinations_with_replacement",
    "heappush",
    "heappop",
    "deque",
    "lru_cache",
    "cache",
    "bisect",
    "bisect_left",
    "bisect_right",
}
AGGREGATE_CALLS = {"sorted", "min", "max", "sum", "any", "all", "filter", "map"}
TRIVIAL_THRESHOLD = 2.0  # the paper: a score below 2.0 adds the note
TRIVIAL_NOTE = (
    "The generated code may not be complex enough to carry out symbolic computing for solving the task."
)


@dataclass
class SymbolicReport:
    score: float
    searching: list[str] = field(default_factory=list)
    symbolic: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    hard_coded: bool = False
    error: str | None = None

    @property
    def trivial(self) -> bool:
        return self.error is None and self.score < TRIVIAL_THRESHOLD

    def summary(self) -> str:
        """The text given to the coach as the code complexity summary."""
        if self.error:
            return f"Invalid Python code: {self.error}"
        lines: list[str] = []
        for title, items in (
            ("SEARCHING", self.searching),
            ("SYMBOLIC", self.symbolic),
            ("NUMERICAL", self.numeric),
        ):
            if items:
                lines.append(f"{title} APPROACH detected:")
                lines.extend(f"- {item}" for item in items)
        if self.hard_coded:
            lines.append("The program prints a literal answer without computing it.")
        lines.append(f"Complexity score: {self.score:g}")
        if self.trivial:
            lines.append(TRIVIAL_NOTE)
        return "\n".join(lines)


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_literal(node: ast.AST) -> bool:
    """A constant or a container/f-string made only of constants: what a hard-coded answer looks like."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_literal(k) for k in node.keys) and all(
            _is_literal(v) for v in node.values
        )
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) for v in node.values)
    return False


def _recursive_functions(tree: ast.AST) -> list[str]:
    names = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            calls = {_call_name(c) for c in ast.walk(fn) if isinstance(c, ast.Call)}
            if fn.name in calls:
                names.append(fn.name)
    return names


def symbolic_check(code: str) -> SymbolicReport:
    """Score the computation in `code`: loops, comprehensions, recursion, search/symbolic libraries."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        return SymbolicReport(score=0.0, error=f"{err.msg} (line {err.lineno})")
    report = SymbolicReport(score=0.0)
    seen: set[str] = set()

    def note(bucket: list[str], text: str, weight: float) -> None:
        report.score += weight
        if text not in seen:
            seen.add(text)
            bucket.append(text)

    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
            note(report.searching, "Contains loops for systematic search", 1.0)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            note(report.searching, "Uses comprehensions to enumerate candidates", 1.0)
        elif isinstance(node, (ast.If, ast.IfExp)):
            note(report.searching, "Branches on conditions", 0.5)
        elif isinstance(node, ast.Try):
            note(report.searching, "Handles failures with try/except", 0.5)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                root = module.split(".")[0]
                if root in SEARCH_MODULES:
                    note(report.searching, f"Uses {root} for combinatorial search", 1.0)
                elif root in SYMBOLIC_MODULES:
                    note(report.symbolic, f"Uses {root} for exact or symbolic computation", 1.0)
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name in SYMBOLIC_CALLS:
                note(report.symbolic, f"Calls {name}() for symbolic computation", 1.0)
            elif name in SEARCH_CALLS:
                note(report.searching, f"Calls {name}() to search candidates", 1.0)
            elif name in AGGREGATE_CALLS:
                note(report.searching, f"Calls {name}() over candidates", 0.5)
        elif isinstance(node, ast.BinOp):
            note(report.numeric, "Contains direct mathematical operations", 0.25)
    for name in _recursive_functions(tree):
        note(report.searching, f"Recursive function {name}() (search / divide and conquer)", 1.5)
    prints = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _call_name(n) == "print"]
    if prints and all(all(_is_literal(a) for a in p.args) for p in prints):
        report.hard_coded = True
        report.score = min(report.score, 0.0)
    return report


@dataclass(frozen=True)
class SelfCheckReport:
    verdict: str  # what the checking program printed ("Correct" or a reason), or why it could not run
    correct: bool | None  # None when no verdict could be obtained
    code: str | None
    status: str  # sandbox status of the checking program, or "no-code"

    def summary(self) -> str:
        return self.verdict


def interpret_check_output(
    stdout: str, stderr: str, status: str, answer: str | None = None
) -> tuple[str, bool | None]:
    """Turn the checking program's run into (verdict text, correct?).

    Small models often write a check that recomputes the value and prints it instead of "Correct";
    a printed value equal to the answer is agreement, and the verdict says so."""
    out = stdout.strip()
    if status != "ok" and not out:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else status
        return f"The checking code failed to run: {last}", None
    if not out:
        return "The checking code printed nothing.", None
    last = out.splitlines()[-1].strip()
    if last.lower().rstrip(".!") == "correct":
        return "Correct", True
    if answer is not None and _same_value(last, answer):
        return f"Correct (the checking program recomputed {last[:80]})", True
    return out[-1500:], False


def _same_value(printed: str, answer: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(text.strip().strip("<>").strip().strip("'\"").lower().split())

    return bool(norm(answer)) and norm(printed) == norm(answer)
