"""Answer extraction shared by the verifiers: lenient in form, strict in content.

Never `eval` model output: these helpers parse.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any

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
        if re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", t):
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
