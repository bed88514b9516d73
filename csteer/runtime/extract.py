"""Find code and answers in model output.

Fences are matched whatever their spelling (```python, ```py, ```Python3, bare ```), and the block to run
is the last complete Python block, not blindly the first (models often show an example, then the fix).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# an opening fence: 3+ backticks or tildes, optional language tag, then newline
_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n", re.MULTILINE)
_PY_LANGS = {"", "python", "python3", "py", "py3", "python2", "pycon", "ipython"}
_ANSWER = re.compile(r"<<<((?:(?!<<<).)*?)>>>", re.DOTALL)  # from the last opening before the closing
# an opened marker that a small model never closed: "<<<Au" at the end of a line or of the text
_UNCLOSED = re.compile(r"<<<[ \t]*([^<>\n]{1,80}?)[ \t]*>{0,2}[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class CodeBlock:
    code: str
    lang: str
    complete: bool  # closing fence found


def code_blocks(text: str) -> list[CodeBlock]:
    """All fenced blocks in order; an unterminated final fence yields an incomplete block."""
    blocks: list[CodeBlock] = []
    pos = 0
    while True:
        m = _FENCE.search(text, pos)
        if not m:
            break
        fence = m.group("fence")
        body_start = m.end()
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        c = close.search(text, body_start)
        if c is None:
            blocks.append(CodeBlock(text[body_start:].rstrip("\n"), m.group("lang").lower(), complete=False))
            break
        blocks.append(CodeBlock(text[body_start : c.start()].rstrip("\n"), m.group("lang").lower(), True))
        pos = c.end()
    return blocks


def _is_python(block: CodeBlock) -> bool:
    if block.lang not in _PY_LANGS:
        return False
    if block.lang:
        return True
    # a bare fence: accept it only when it parses as Python and is not a bare literal/answer line
    try:
        tree = ast.parse(block.code)
    except SyntaxError:
        return False
    return any(not isinstance(node, ast.Expr) or isinstance(node.value, ast.Call) for node in tree.body)


def python_code(text: str) -> str | None:
    """The Python program to run from a reply: the last complete Python block, else the last incomplete one."""
    blocks = [b for b in code_blocks(text) if _is_python(b)]
    complete = [b for b in blocks if b.complete]
    chosen = complete[-1] if complete else (blocks[-1] if blocks else None)
    if chosen is None or not chosen.code.strip():
        return None
    return chosen.code


def marked_answer(text: str) -> str | None:
    """The content of the last `<<<...>>>` in `text`, stripped; None when there is none."""
    found = _ANSWER.findall(text or "")
    return found[-1].strip() if found else None


def unclosed_answer(text: str) -> str | None:
    """The content of the last marker opened and never closed on its line ("<<<Au", "<<<Au>>" at a line's
    end), for a reply with no complete marker; None when there is none."""
    found = [m.group(1).strip() for m in _UNCLOSED.finditer(text or "")]
    found = [f for f in found if f]
    return found[-1] if found else None


PLACEHOLDER = "answer"  # the word inside csteer's own format hint, <<<answer>>>


def _fold(text: str) -> str:
    return " ".join(text.strip().strip("{}").lower().split())


def placeholders(question: str) -> set[str]:
    """The format placeholders a reply may copy instead of filling in: csteer's `answer`, and each marker
    of the question that holds no digit (`<<<number>>>`, `<<<a string>>>`: a format hint, where a marker
    with digits is an example answer)."""
    hinted = {_fold(m) for m in _ANSWER.findall(question or "") if not re.search(r"\d", m)}
    return {PLACEHOLDER} | {h for h in hinted if h}


def is_placeholder(answer: str, question: str = "") -> bool:
    return _fold(answer) in placeholders(question)


def beside_placeholder(text: str, names: set[str]) -> str | None:
    """The value written on the line of a copied placeholder marker: "<<<answer>>> 42", "<<<answer>>>: 42",
    or "42 <<<answer>>>" (before the marker only when that is one word or holds a digit, so a lead-in
    such as "The result is" is not taken for the answer). None when no such line has a value."""
    for line in reversed(text.splitlines()):
        for m in reversed(list(_ANSWER.finditer(line))):
            if _fold(m.group(1)) not in names:
                continue
            after = line[m.end() :].strip(" \t:=-")
            before = line[: m.start()].strip(" \t:=-")
            if after:
                return after
            if before and (len(before.split()) == 1 or re.search(r"\d", before)):
                return before
    return None


def _filled(marked: str, text: str, question: str) -> str:
    """`marked`, or the value beside it when it is a copied placeholder (which stays the answer when
    nothing is beside it, for the caller to reject)."""
    names = placeholders(question)
    if _fold(marked) in names:
        return beside_placeholder(text, names) or marked
    return marked


def final_answer(text: str, program_output: str | None, question: str = "") -> str | None:
    """The answer of one task-model reply: from its program's output when it ran code, else from its text.

    Program output: the marked answer if the program printed one, else its last non-empty line.
    Text: the marked answer, else a marker opened and not closed on its line (a small model's slip),
    else None (free text without a marked answer is not an answer).
    A marker that holds a format placeholder of csteer or of `question` ("<<<answer>>> 42") is read
    as the value printed beside it.
    """
    if program_output is not None and program_output.strip():
        marked = marked_answer(program_output)
        if marked is not None:
            return _filled(marked, program_output, question)
        lines = [line.strip() for line in program_output.strip().splitlines() if line.strip()]
        # a garbled marker ("<<42>>>", "<<<42") still names the answer
        return lines[-1].lstrip("<").rstrip(">").strip() or None if lines else None
    marked = marked_answer(text)
    return _filled(marked, text, question) if marked is not None else unclosed_answer(text)
