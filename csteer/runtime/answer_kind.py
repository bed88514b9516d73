"""What kind of answer a question's own wording asks for, and whether an answer is of that kind.

A small model's program can run cleanly and print a value of the wrong kind: a date for "How many days
are in a week?", a weekday for "How many days are there from ... to ...?". Such an answer is wrong
whatever its value, so it does not vote and is not returned while turns are left. Only three kinds are
read, each from words that state it outright (as in the answer-type classes of question answering):

    quantity   "how many ...", "how much ..."        a number, in digits or words, that is not a date
    weekday    "what/which day of the week", "weekday"  a day's name
    yes/no     "... answer yes or no"                  yes or no

Any other question accepts any answer. The same rule holds for every question and every task.
"""

from __future__ import annotations

import re

_QUANTITY = re.compile(r"\bhow (many|much)\b", re.IGNORECASE)
_WEEKDAY = re.compile(r"\b(what|which) day of the week\b|\bweekday\b", re.IGNORECASE)
_YES_NO = re.compile(r"\byes or no\b", re.IGNORECASE)

_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBER_WORDS = (
    r"zero|none|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"thousand|million|billion|dozen"
)
_NUMBER_WORD = re.compile(rf"\b({_NUMBER_WORDS})\b", re.IGNORECASE)
# a calendar date or a clock time on its own: what date.today() or a datetime prints
_DATE = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*$")


def asked_kind(question: str) -> str | None:
    """The kind of answer the question states it wants ("quantity", "weekday", "yes/no"), or None."""
    if _YES_NO.search(question):
        return "yes/no"
    if _WEEKDAY.search(question):
        return "weekday"
    if _QUANTITY.search(question):
        return "quantity"
    return None


def fits(answer: str, kind: str) -> bool:
    """Whether `answer` can be an answer of `kind` (a count may come with words: "Count: 3, ...")."""
    text = answer.strip().lower()
    if kind == "yes/no":
        return text.strip(".!") in ("yes", "no")
    if kind == "weekday":
        return any(day in text for day in _DAY_NAMES)
    if kind == "quantity":
        return not _DATE.match(text) and bool(re.search(r"\d", text) or _NUMBER_WORD.search(text))
    raise ValueError(f"unknown answer kind {kind!r}")


def mismatch(answer: str, question: str) -> str | None:
    """Why `answer` cannot answer `question` by its kind alone (None: it can, or the question does not
    say what kind it wants)."""
    kind = asked_kind(question)
    if kind is None or fits(answer, kind):
        return None
    wanted = {"quantity": "a number", "weekday": "a day of the week", "yes/no": "yes or no"}[kind]
    return f"answers {answer.strip()[:60]!r}, not {wanted} as the question asks"
