"""Cryptanalysis: deduce a two-digit, two-letter password from guesses with feedback.

The verifier recomputes the feedback every guess would get against the answer and compares it with
the stated feedback, so any password consistent with all conditions is accepted.
"""

from __future__ import annotations

import itertools
import random
import re
import string
from collections.abc import Sequence
from typing import Any

from csteer.symbench.answers import MalformedAnswer, guarded, parse_literal
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask, new_sample_id

_KINDS = {
    "number": ("number", "numbers", "too small", "too large"),
    "letter": ("letter", "letters", "too early in the alphabet", "too late in the alphabet"),
}


def half_feedback(guess: Sequence[str], answer: Sequence[str], kind: str) -> str:
    """The feedback phrase for one half (two digits or two letters), in the dataset's wording."""
    one, both, low, high = _KINDS[kind]
    right_place = sum(g == a for g, a in zip(guess, answer, strict=True))
    wrong_place = sum(g in answer and g != a for g, a in zip(guess, answer, strict=True))
    wrong = [g for g in guess if g not in answer]

    def size(items: list[str]) -> str:
        if all(w < min(answer) for w in items):
            return low
        if all(w > max(answer) for w in items):
            return high
        return ""

    if right_place == 2:
        return f"both {both} are correct and in the correct positions"
    if wrong_place == 2:
        return f"both {both} are correct but in the wrong positions"
    if not wrong:  # one right place, one wrong place (only with a repeated symbol in the guess)
        return f"one {one} is correct and in the correct position; one {one} is correct but in the wrong position"
    if len(wrong) == 2:
        q = size(wrong)
        return f"both {both} are incorrect" + (f" and {q}" if q else "")
    hit = "correct and in the correct position" if right_place else "correct but in the wrong position"
    return f"one {one} is {hit}; one {one} is incorrect and {size(wrong) or 'incorrect'}"


def feedback(guess: str, answer: Sequence[str]) -> str:
    return (
        half_feedback(guess[:2], answer[:2], "number") + "; " + half_feedback(guess[2:], answer[2:], "letter")
    )


def parse_conditions(question: str) -> list[tuple[str, str]]:
    found = re.findall(r"^\d+\. Guess: (\d\d[A-Z][A-Z]), Feedback: (.*?)\.?$", question, re.M)
    if not found:
        raise ValueError("question lists no guesses")
    return found


def _question(conditions: list[tuple[str, str]]) -> str:
    listed = "\n".join(f"{i}. Guess: {g}, Feedback: {f}." for i, (g, f) in enumerate(conditions, 1))
    return (
        f"Please deduce the correct password based on the following {len(conditions)} known conditions:\n"
        "A certain combination lock consists of two numbers and two letters, with neither the numbers nor the "
        f"letters repeating.\n{listed}\n"
        'Please provide your answer in the format <<< ["X", "Y", "Z", "W"] >>> where X and Y are the numbers and Z '
        "and W are the letters of the password.\n"
    )


def parse_password(content: str) -> list[str]:
    value = parse_literal(content)
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        items = [str(v).strip() for v in value]
    else:
        if re.sub(r"[0-9A-Za-z\s,\[\]\"'()]", "", content):
            raise MalformedAnswer('expected a list like ["1", "2", "A", "B"]')
        items = re.findall(r"[0-9A-Za-z]+", content)
        if len(items) == 1:
            items = list(items[0])
    if len(items) != 4 or any(len(i) != 1 for i in items):
        raise MalformedAnswer("expected four single symbols: two digits then two letters")
    items = [i.upper() for i in items]
    if not (items[0].isdigit() and items[1].isdigit() and items[2].isalpha() and items[3].isalpha()):
        raise MalformedAnswer("expected two digits followed by two letters")
    return items


@register
class Cryptanalysis(SampleFolderTask):
    id = "cryptanalysis"
    paper_name = "Cryptanalysis"
    split = "unseen"
    description = (
        "Deduce a password of two distinct digits and two distinct letters from guesses with feedback."
    )
    answer_format = 'a list of four strings, e.g. ["1", "2", "A", "B"]'
    data_dirs = ("cryptanalysis",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        digit_pairs = list(itertools.permutations(string.digits, 2))
        letter_pairs = list(itertools.permutations(string.ascii_uppercase, 2))
        answer = [*rng.choice(digit_pairs), *rng.choice(letter_pairs)]
        conditions: list[tuple[str, str]] = []
        digits_left, letters_left = digit_pairs, letter_pairs
        while len(digits_left) > 1 or len(letters_left) > 1 or len(conditions) < 2 + complexity:
            guess = "".join(rng.choice(digit_pairs) + rng.choice(letter_pairs))
            if guess == "".join(answer):
                continue
            conditions.append((guess, feedback(guess, answer)))
            digits_left = [
                p
                for p in digits_left
                if half_feedback(guess[:2], p, "number") == half_feedback(guess[:2], answer[:2], "number")
            ]
            letters_left = [
                p
                for p in letters_left
                if half_feedback(guess[2:], p, "letter") == half_feedback(guess[2:], answer[2:], "letter")
            ]
        stored = {"answer": answer, "complexity": complexity}
        return Sample(self.id, new_sample_id(rng), _question(conditions), stored, {"conditions": conditions})

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        password = parse_password(content)
        if password[0] == password[1] or password[2] == password[3]:
            return Verdict(False, "digits and letters must not repeat")
        for i, (guess, stated) in enumerate(sample.meta["conditions"], 1):
            got = feedback(guess, password)
            if got != stated:
                return Verdict(False, f"condition {i} ({guess}) would give '{got}', not '{stated}'")
        return Verdict(
            True, f"{''.join(password)} is consistent with all {len(sample.meta['conditions'])} conditions"
        )

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        return Sample(self.id, sample_id, question, solution, {"conditions": parse_conditions(question)})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return "<<< " + str(sample.solution["answer"]).replace("'", '"') + " >>>"
