"""MATH Geometry and MATH Counting & Probability (fixed datasets from the MATH train split).

Original layout: MATH/train/<subject>/<n>.json = {"problem", "level", "type", "solution"}; the
reference answer is the last `\\boxed{...}` of the solution. The reference judged answers with GPT-4o
("same value, format aside, 1e-3 relative"); here: symbolic equivalence with math-verify, then a
numeric comparison within 1e-3 relative error, then equality of normalized text (for answers such as
`\\text{(C)}` that are not mathematical objects).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from csteer.symbench.answers import answer_core, close_relative, refuse_text
from csteer.symbench.base import Sample, Task, Verdict, register
from csteer.symbench.layout import relative_id

FORMAT_LINE = (
    "Output final answer with the format <<<answer>>> such as <<<123.42>>>, <<<125.0>>>, <<<-9867>>>."
)
MAX_MATH_CHARS = 1000  # a MATH answer is a short expression; longer text is not parsed


def last_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` (or `\\fbox{...}`) in `text`, braces balanced."""
    for marker in ("\\boxed", "\\fbox"):
        start = text.rfind(marker)
        if start >= 0:
            break
    else:
        return None
    i = text.find("{", start)
    if i < 0:
        # "\boxed 5" form
        m = re.match(r"\\boxed\s+([^\s$]+)", text[start:])
        return m.group(1) if m else None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None


def _answer_math(text: str) -> str:
    """The math in an answer: `<<<>>>` content without `\\boxed{}` and `$` wrappers."""
    core = answer_core(text)
    inner = last_boxed(core)
    if inner is not None:
        core = inner
    core = core.strip()
    while len(core) >= 2 and core.startswith("$") and core.endswith("$"):
        core = core[1:-1].strip()
    return core


_TEXT_NOISE = re.compile(r"\\(?:left|right|!|,|;|:|displaystyle)|\\text\{\s*\}|\s+|\^\{?\\circ\}?|\\%|%|\$")


def normalize_text(text: str) -> str:
    """A comparison key for answers that are not numbers: spacing, \\left/\\right, degree signs and
    \\text{}/\\mathrm{} wrappers removed; \\dfrac/\\tfrac -> \\frac."""
    t = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    t = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", t)
    t = _TEXT_NOISE.sub("", t)
    return t.rstrip(".").lower()


def _timeouts() -> int | None:
    # math-verify's timeouts use SIGALRM, which only works on the main thread
    return 5 if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=4096)
def _parse(math_text: str) -> tuple[Any, ...]:
    from math_verify import LatexExtractionConfig, parse

    # LaTeX extraction only: math-verify's plain-expression extractor goes through sympy's
    # parse_expr (which uses eval); the LaTeX grammar parses without executing anything.
    return tuple(
        parse(f"${math_text}$", extraction_config=[LatexExtractionConfig()], parsing_timeout=_timeouts())
    )


def _numeric(parsed: tuple[Any, ...]) -> Fraction | None:
    """The real value of a parsed answer when it is a single finite number."""
    if not parsed:
        return None
    expr = parsed[0]
    try:
        import sympy

        if not isinstance(expr, sympy.Expr) or expr.free_symbols:
            return None
        value = complex(sympy.N(expr, 30))
    except (TypeError, ValueError, AttributeError, OverflowError, ZeroDivisionError, RecursionError):
        return None
    if value.imag != 0 or value.real != value.real or abs(value.real) == float("inf"):
        return None
    return Fraction(value.real)


def _clean_latex(text: str) -> str:
    """MATH spellings math-verify misreads: `29,\\!322` thousands separators, a trailing period."""
    text = re.sub(r"(?<=\d),\\!\s*(?=\d{3})", "", text)
    return text.strip().rstrip(".").strip()


def gold_alternatives(gold: str) -> list[str]:
    """The reference answer and, for `AB = 12+12\\sqrt{3}` style answers, its right-hand side."""
    gold = _clean_latex(gold)
    found = [gold]
    if gold.count("=") == 1 and not re.search(r"\\(?:le|ge|neq)|[<>]", gold):
        found.append(gold.split("=")[1].strip())
    return found


def check_math(gold: str, answer_text: str) -> Verdict:
    """Compare a MATH answer with the reference `gold` (the boxed content)."""
    verdict = Verdict(False, "empty answer")
    for candidate in gold_alternatives(gold):
        verdict = _check_one(candidate, answer_text)
        if verdict.correct:
            return verdict
    return verdict


def _check_one(gold: str, answer_text: str) -> Verdict:
    if (refused := refuse_text(answer_text)) is not None:
        return refused
    pred = _clean_latex(_answer_math(answer_text))
    if not pred:
        return Verdict(False, "empty answer")
    if len(pred) > MAX_MATH_CHARS:
        return Verdict(False, f"answer longer than {MAX_MATH_CHARS} characters of math")
    if normalize_text(pred) == normalize_text(gold):
        return Verdict(True, f"same as {gold!r} after normalizing the text")
    try:
        from math_verify import verify

        gold_parsed, pred_parsed = _parse(gold), _parse(pred)
        if (
            gold_parsed
            and pred_parsed
            and verify(list(gold_parsed), list(pred_parsed), timeout_seconds=_timeouts())
        ):
            return Verdict(True, f"symbolically equal to {gold!r}")
        gold_value, pred_value = _numeric(gold_parsed), _numeric(pred_parsed)
    except Exception as exc:  # noqa: BLE001  (a parser crash on odd input is a rejection, not a crash)
        return Verdict(False, f"cannot compare {pred[:60]!r} with {gold!r} ({type(exc).__name__})")
    if gold_value is not None and pred_value is not None:
        if close_relative(pred_value, gold_value):
            return Verdict(True, f"{float(pred_value):.6g} is within 1e-3 of {gold!r}")
        return Verdict(False, f"{float(pred_value):.6g} differs from {gold!r} = {float(gold_value):.6g}")
    if not pred_parsed:
        return Verdict(False, f"cannot read {pred[:60]!r} as math")
    return Verdict(False, f"{pred[:60]!r} is not equal to {gold!r}")


class _MathTask(Task):
    synthesized = False
    data_dirs = ("MATH",)
    complexities = ()
    subject: ClassVar[str]

    def load_dir(self, root: Path) -> Iterator[Sample]:
        base = Path(root) / "MATH" / "train" / self.subject
        if not base.is_dir():
            return
        paths = sorted(
            base.glob("*.json"), key=lambda p: (int(p.stem) if p.stem.isdigit() else 10**12, p.stem)
        )
        for path in paths:
            data = json.loads(path.read_text(encoding="utf-8"))
            yield Sample(
                task=self.id,
                id=relative_id(path.with_suffix(""), root),
                question=f"{data['problem']}\n\n{FORMAT_LINE}",
                solution=last_boxed(data.get("solution", "")),
                meta={
                    "level": data.get("level"),
                    "type": data.get("type"),
                    "worked_solution": data.get("solution"),
                },
            )

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        if sample.solution is None:
            return Verdict(False, "sample has no reference answer (no \\boxed{} in its solution)")
        return check_math(str(sample.solution), answer_text)


@register
class MathGeometry(_MathTask):
    id = "math_geometry"
    paper_name = "MATH Geometry"
    split = "seen"
    description = "MATH (train) geometry problems; an exact or numeric answer."
    answer_format = "the answer as LaTeX or a number, e.g. <<<\\frac{3}{4}>>> or <<<0.75>>>"
    subject = "geometry"


@register
class MathCountingProbability(_MathTask):
    id = "math_counting_probability"
    paper_name = "MATH Count&Prob"
    split = "seen"
    description = "MATH (train) counting & probability problems; an exact or numeric answer."
    answer_format = "the answer as LaTeX or a number, e.g. <<<\\frac{1}{6}>>> or <<<120>>>"
    subject = "counting_and_probability"
