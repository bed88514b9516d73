"""Sample and vote (PAL with self-consistency): several sampled attempts, the answer most of them reach.

A small model's single greedy program is often broken in a way a second sample is not; answers that
independent samples agree on are far more often right than any one sample. This module holds the rules
of a vote; the loop draws the candidates and runs them.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

from csteer.runtime.extract import is_placeholder
from csteer.runtime.record import Candidate


def screen_program(code: str | None) -> str | None:
    """Why a drafted program is not worth running (None: run it)."""
    if code is None or not code.strip():
        return "no program in the reply"
    try:
        ast.parse(code)
    except SyntaxError as err:
        return f"does not parse: {err.msg} (line {err.lineno})"
    return None


# standard modules a small model calls without importing them (`math.gcd(...)` with no `import math`)
AUTO_IMPORTS = ("math", "statistics", "datetime", "calendar", "itertools", "fractions", "collections")


def add_missing_imports(code: str) -> str:
    """The program with `import X` put first for each module of AUTO_IMPORTS that it uses as `X.name`
    but never binds (no import, assignment or parameter of that name): a NameError repaired before the
    run instead of a failed candidate. Any other program comes back unchanged."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    used = {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in AUTO_IMPORTS
    }
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
    missing = sorted(used - bound)
    return "".join(f"import {name}\n" for name in missing) + code if missing else code


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_STRUCTURAL = {0, 1, 2, 0.5}  # start, step, first prime, square root: in programs whatever the question


def copies_example(code: str, question: str, examples: list[str]) -> str | None:
    """Why a program looks copied from a few-shot example instead of written for `question` (None: it
    does not): it uses a number or a quoted word that one of the `examples` (their questions) names and
    the question does not ("What is 7!?" answered with `math.factorial(4)` after "What is 4!?")."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    asked_numbers = {float(n) for n in _NUMBER.findall(question)}
    asked_words = set(re.findall(r"[a-z]+", question.lower()))
    example_numbers = {float(n) for text in examples for n in _NUMBER.findall(text)}
    example_words = {w for text in examples for w in re.findall(r"[a-z]{3,}", text.lower())}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
            continue
        value = node.value
        if (
            isinstance(value, (int, float))
            and value not in _STRUCTURAL
            and value in example_numbers
            and value not in asked_numbers
        ):
            return f"uses {value!r} from an example, not from the question"
        if isinstance(value, str):
            for word in re.findall(r"[a-z]{3,}", value.lower()):
                if word in example_words and word not in asked_words:
                    return f"uses {word!r} from an example, not from the question"
    return None


def echoes_question(code: str, question: str) -> str | None:
    """Why a program only hands back a value the question already states (None: it computes): every
    assignment to `answer` is a bare constant that the question names ("What is 10 factorial?" answered
    `answer = 10`, "Reverse the string stressed." `answer = 'stressed'`). A constant the question does
    not name is left alone: it may be a fact the model knows ("How many days are in a week?" -> 7)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    values = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "answer" for t in targets):
                if isinstance(node, ast.AugAssign) or not isinstance(node.value, ast.Constant):
                    return None  # computed somewhere
                values.append(node.value.value)
    if not values:
        return None
    asked = {normalise(n) for n in _NUMBER.findall(question)} | set(re.findall(r"[a-z]+", question.lower()))
    for value in values:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, str))
            or normalise(str(value)) not in asked
        ):
            return None
    return f"hands back {values[-1]!r} from the question instead of computing the answer"


def prose_answer(code: str | None, question: str) -> str | None:
    """The marked answer of a reply asked for a program that wrote a sentence instead ("gold's symbol
    comes from the Latin aurum. <<<Au>>>" inside the code fence): a text answer, which votes as one.
    None when the reply parses as Python (it is a program), marks nothing, marks a program fragment,
    or only hands back a value of the question ("<<<10>>>" for "What is 10 factorial?")."""
    if code is None:
        return None
    try:
        ast.parse(code)
        return None
    except SyntaxError:
        pass
    found = [m.strip() for m in re.findall(r"<<<([^<>{}()=\n]{1,60})>>>", code)]
    if not found or not found[-1] or is_placeholder(found[-1], question):
        return None
    answer = found[-1]
    asked = {normalise(n) for n in _NUMBER.findall(question)} | {normalise(w) for w in question.split()}
    return None if normalise(answer) in asked else answer


def conform(answer: str, question: str) -> str:
    """The answer in the form the question asks for: a program's True/False becomes yes/no when the
    question says "yes or no"."""
    if "yes or no" in question.lower() and answer.strip().lower() in ("true", "false"):
        return "yes" if answer.strip().lower() == "true" else "no"
    return answer


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
