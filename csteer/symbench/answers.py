"""Answer extraction shared by the verifiers: lenient in form, strict in content.

Never `eval` model output: these helpers parse.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from csteer.symbench.base import Sample, Verdict

_MARKED = re.compile(r"<<<(.*?)>>>", re.DOTALL)
MAX_ANSWER_CHARS = 100_000  # longer answers are rejected before parsing


def extract_marked(text: str) -> str:
    """The content of the last `<<<...>>>` in `text`, or the stripped text when there is none."""
    if text is None:
        return ""
    found = _MARKED.findall(text)
    return (found[-1] if found else text).strip()


def strip_wrappers(text: str) -> str:
    """Remove quotes, backticks and surrounding whitespace that models put around answers."""
    text = text.strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1].strip()
    return text


def parse_number(text: str) -> Fraction | None:
    """Parse an integer, decimal, fraction `a/b`, or scientific number; commas as thousands separators."""
    t = strip_wrappers(text).replace(",", "").replace("_", "").strip().rstrip(".")
    if not t or len(t) > 400:
        return None
    try:
        if re.fullmatch(r"[+-]?\d+\s*/\s*[+-]?\d+", t):
            num, den = t.split("/")
            return Fraction(int(num), int(den)) if int(den) != 0 else None
        m = re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE]([+-]?\d+))?", t)
        if m:
            # an exponent like 1e99999 would build a 100,000-digit integer: no answer is that large
            if m.group(4) and abs(int(m.group(4))) > 400:
                return None
            return Fraction(t)
    except (ValueError, ZeroDivisionError):
        return None
    return None


def parse_literal(text: str) -> Any:
    """Parse a JSON-like literal (lists, numbers, strings), accepting Python spellings.

    Accepts single quotes, tuples in parentheses, True/False/None. Returns None when it cannot parse.
    """
    t = strip_wrappers(text) if not text.strip().startswith(("'", '"')) else text.strip()
    if not t or len(t) > MAX_ANSWER_CHARS:
        return None
    try:
        return json.loads(t)
    except (ValueError, RecursionError):
        pass
    # Python-style: single quotes, tuples, booleans. Convert token-wise, then json.
    converted = _pythonish_to_json(t)
    if converted is None:
        return None
    try:
        return json.loads(converted)
    except (ValueError, RecursionError):
        return None


_TOKEN = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|True|False|None|[()]|[^'"()TFN]+|.""", re.DOTALL)


def _pythonish_to_json(text: str) -> str | None:
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        if tok.startswith("'") and len(tok) >= 2:
            out.append(json.dumps(tok[1:-1].replace("\\'", "'")))
        elif tok == "True":
            out.append("true")
        elif tok == "False":
            out.append("false")
        elif tok == "None":
            out.append("null")
        elif tok == "(":
            out.append("[")
        elif tok == ")":
            out.append("]")
        else:
            out.append(tok)
    result = "".join(out)
    # a tuple with a trailing comma "(1,)" -> "[1,]"
    result = re.sub(r",\s*\]", "]", result)
    return result


# --- helpers for the fixed-dataset verifiers (option letters, yes/no, numbers) ---

_LABEL = re.compile(r"^(?:the\s+)?(?:final\s+)?(?:answer|option|choice)\s*(?:is)?\s*[:=]?\s*", re.IGNORECASE)
_OPTION_LINE = re.compile(r"^\s*\(([A-Z])\)\s*(.*?)\s*$", re.MULTILINE)
_LEADING_LETTER = re.compile(r"^[(\[]?\s*([A-Za-z])\s*(?:[)\].:]|$)\s*(.*)$", re.DOTALL)


def answer_core(text: str) -> str:
    """The answer with `<<<>>>`, quotes, a leading "Answer:" label and trailing periods removed."""
    core = strip_wrappers(extract_marked(text))
    core = _LABEL.sub("", core, count=1)
    return strip_wrappers(core).strip().rstrip(".").strip()


def question_options(question: str) -> dict[str, str]:
    """Multiple-choice options listed in a question as `(A) text` lines: letter -> text."""
    return {m.group(1): m.group(2) for m in _OPTION_LINE.finditer(question)}


def _norm_words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(".").strip().lower()


def parse_option_letter(text: str, options: dict[str, str]) -> tuple[str | None, str]:
    """The option letter an answer picks among `options`, or (None, why not).

    Accepts "(A)", "A", "A)", "A.", "[A]", "(A) the option text", and the bare option text.
    A letter followed by the text of a different option is rejected as contradictory.
    """
    core = answer_core(text)
    if not core:
        return None, "empty answer"
    m = _LEADING_LETTER.match(core)
    if m:
        letter, rest = m.group(1).upper(), m.group(2).strip()
        if letter not in options:
            return None, f"({letter}) is not one of the options {sorted(options)}"
        if rest:
            named = [k for k, v in options.items() if _norm_words(v) == _norm_words(rest)]
            if named and letter not in named:
                return None, f"({letter}) contradicts its text {rest[:60]!r}, which is option ({named[0]})"
        return letter, "ok"
    by_text = [k for k, v in options.items() if _norm_words(v) == _norm_words(core)]
    if len(by_text) == 1:
        return by_text[0], "ok"
    return None, f"no option letter in {core[:60]!r}"


def parse_yes_no(text: str) -> str | None:
    """ "Yes" or "No" when the answer is exactly one of them (any case, wrapped or labelled), else None."""
    core = answer_core(text).lstrip("-* ").strip().rstrip("!.").lower()
    if core in ("yes", "no"):
        return core.capitalize()
    return None


_NUMBER_TOKEN = re.compile(
    r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?(?:\s*/\s*\d+)?|[+-]?\.\d+"
)


def parse_single_number(text: str) -> tuple[Fraction | None, str]:
    """The one number an answer states ("$1,234.5", "x = 12", "12 apples"), or (None, why not).

    Exact (a Fraction), so huge integers and decimals compare without float rounding.
    More than one number is ambiguous and rejected.
    """
    core = answer_core(text)
    if not core:
        return None, "empty answer"
    if len(core) > 2000:
        return None, "answer too long for a number"
    core = core.replace("\\$", "").replace("$", "").replace("\\%", "").replace("%", "")
    core = core.replace("\u2212", "-")  # unicode minus
    direct = parse_number(core)
    if direct is not None:
        return direct, "ok"
    tokens = _NUMBER_TOKEN.findall(core)
    if not tokens:
        return None, f"no number in {core[:60]!r}"
    if len(tokens) > 1:
        return None, f"ambiguous: several numbers in {core[:60]!r}"
    value = parse_number(tokens[0])
    if value is None:
        return None, f"cannot read the number {tokens[0][:60]!r}"
    return value, "ok"


def close_relative(value: Fraction, target: Fraction, rel_tol: Fraction = Fraction(1, 1000)) -> bool:
    """|value - target| <= rel_tol * |target|; exact for a zero target."""
    if target == 0:
        return value == 0
    return abs(value - target) <= rel_tol * abs(target)


# ---------------------------------------------------------------- guards and small parsers for verifiers


def refuse_text(answer_text: Any) -> Verdict | None:
    """A rejecting Verdict for an answer that is not text or is longer than MAX_ANSWER_CHARS, else None."""
    if not isinstance(answer_text, str):
        return Verdict(False, "answer is not text")
    if len(answer_text) > MAX_ANSWER_CHARS:
        return Verdict(False, f"answer longer than {MAX_ANSWER_CHARS} characters")
    return None


def answer_body(answer_text: Any, limit: int = MAX_ANSWER_CHARS) -> str | Verdict:
    """The `<<<...>>>` content of an answer, or a rejecting Verdict for empty/huge/non-text input."""
    if not isinstance(answer_text, str):
        return Verdict(False, "answer is not text")
    if len(answer_text) > limit:
        return Verdict(False, f"answer too long ({len(answer_text)} chars)")
    body = extract_marked(answer_text)
    if not body:
        return Verdict(False, "empty answer")
    return body


class MalformedAnswer(ValueError):
    """Raised by a task's checker when the answer cannot be parsed into the expected shape."""


Checker = Callable[[Any, Sample, str], Verdict]


def guarded(check: Checker) -> Checker:
    """Wrap a checker that receives the extracted `<<<...>>>` content; malformed input never raises."""

    @functools.wraps(check)
    def verify(self: Any, sample: Sample, answer_text: str) -> Verdict:
        if (refused := refuse_text(answer_text)) is not None:
            return refused
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


_NUM_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def number_tokens(text: str) -> list[str]:
    return _NUM_RE.findall(text)


def flatten(value: Any, depth: int = 0) -> list[Any] | None:
    """Flatten nested lists/tuples (at most 4 levels deep); None when deeper or not a list."""
    if depth > 4:
        return None
    if not isinstance(value, list | tuple):
        return [value]
    out: list[Any] = []
    for item in value:
        sub = flatten(item, depth + 1)
        if sub is None:
            return None
        out.extend(sub)
    return out


def letters_list(body: str) -> list[str] | None:
    """Letters written as A,B,C / [A, B, C] / ['A','B','C'] / A B C; None for anything else."""
    cleaned = re.sub(r"[\[\]()'\"]", " ", body)
    parts = [p for p in re.split(r"[\s,]+", cleaned) if p]
    if not parts or any(not re.fullmatch(r"[A-Za-z]", p) for p in parts):
        return None
    return [p.upper() for p in parts]
