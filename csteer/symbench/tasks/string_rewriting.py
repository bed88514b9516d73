"""String Insertion and String Deletion&Modification: rewrite a string by fixed rules, report the result."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from csteer.symbench.answers import MalformedAnswer, guarded, strip_wrappers
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask, new_sample_id


def _plain_string(content: str, alphabet: str) -> str:
    text = strip_wrappers(content.strip().strip("[]").strip())
    if not re.fullmatch(f"[{alphabet}]*", text):
        raise MalformedAnswer(f"expected a string over {alphabet!r}, got {text[:40]!r}")
    return text


# ---------------------------------------------------------------- String Insertion

_INSERT_RULES = (("ABCD", "A"), ("BCDE", "B"), ("CDEA", "C"), ("DEAB", "D"), ("EABC", "E"))


def insert_once(text: str) -> str:
    """One T operation: every rule match in the original string inserts its letter right after the match."""
    out = []
    for i, ch in enumerate(text):
        out.append(ch)
        start = i - 3
        if start >= 0:
            for pattern, letter in _INSERT_RULES:
                if text[start : i + 1] == pattern:
                    out.append(letter)
    return "".join(out)


_INSERTION_TEXT = (
    "Given the string consisting of characters A, B, C, D, and E, define the T operation as follows:\n\n"
    + "".join(
        f"{n}. If there is a substring {p} in the string, insert the character {c} after that substring.\n"
        for n, (p, c) in enumerate(_INSERT_RULES, 1)
    )
    + "\nQuestion: Given the string {s}, what will the string be after one operation T? "
    "String insertion from left to right.\nReturn the answer with the format <<<a string>>>."
)


@register
class StringInsertion(SampleFolderTask):
    id = "string_insertion"
    paper_name = "String Insertion"
    split = "seen"
    description = "Apply one round of pattern-triggered insertions to a string over A-E."
    answer_format = "the resulting string, e.g. ABCDAE"
    data_dirs = ("string_insertion",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        length = 5 + 3 * complexity + rng.randint(0, 3)
        while True:
            original = "".join(rng.choice("ABCDE") for _ in range(length))
            # plant a pattern so at least one rule fires
            pattern = rng.choice(_INSERT_RULES)[0]
            at = rng.randint(0, length - 4)
            original = original[:at] + pattern + original[at + 4 :]
            if insert_once(original) != original:
                break
        solution = {
            "original_string": original,
            "modified_string": insert_once(original),
            "complexity": complexity,
        }
        question = _INSERTION_TEXT.replace("{s}", original)
        return Sample(self.id, new_sample_id(rng), question, solution, {"original_string": original})

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        answer = _plain_string(content, "A-Ea-e").upper()
        expected = insert_once(sample.meta["original_string"])
        if answer == expected:
            return Verdict(True, f"matches {expected}")
        return Verdict(False, f"expected {expected}, got {answer[:200]}")

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        original = re.search(r"Given the string ([A-E]+),", question).group(1)  # type: ignore[union-attr]
        return Sample(self.id, sample_id, question, solution, {"original_string": original})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return f"<<<{sample.solution['modified_string']}>>>"


# ---------------------------------------------------------------- String Deletion&Modification

Rule = Callable[[str], "str | None"]  # returns the rewritten string, or None when the rule does not apply
_Q = r"'([a-z]*)'"


def _replace_suffix(old: str, new: str, prepend: str = "") -> Rule:
    return lambda s: prepend + s[: len(s) - len(old)] + new if s.endswith(old) else None


def _replace_prefix(old: str, new: str, append: str = "", drop_last: bool = False) -> Rule:
    def rule(s: str) -> str | None:
        if not s.startswith(old):
            return None
        out = new + s[len(old) :] + append
        return out[:-1] if drop_last else out

    return rule


def _first_occurrence(old: str, new: str, start: int = 0) -> Rule:
    def rule(s: str) -> str | None:
        i = s.find(old, start)
        return None if i < 0 else s[:i] + new + s[i + len(old) :]

    return rule


def _even_count(ch: str, tail: str) -> Rule:
    return lambda s: s + tail if s.count(ch) and s.count(ch) % 2 == 0 else None


def _drop_middle(s: str) -> str | None:
    return s[: len(s) // 2] + s[len(s) // 2 + 1 :] if len(s) > 15 else None


# (template regex, builder from the quoted strings): every rule wording seen in the dataset
_TEMPLATES: tuple[tuple[str, Callable[..., Rule]], ...] = (
    (rf"ends with {_Q}, replace it with {_Q}\.", lambda a, b: _replace_suffix(a, b)),
    (rf"suffix is {_Q}, replace it with {_Q}\.", lambda a, b: _replace_suffix(a, b)),
    (rf"suffix is {_Q}, replace it with {_Q} and prepend {_Q} to the start\.", _replace_suffix),
    (
        rf"suffix is {_Q}, delete the last two characters\.",
        lambda a: lambda s: s[:-2] if s.endswith(a) else None,
    ),
    (rf"ends with {_Q}, remove the last character\.", lambda a: lambda s: s[:-1] if s.endswith(a) else None),
    (rf"prefix is {_Q}, replace it with {_Q}\.", lambda a, b: _replace_prefix(a, b)),
    (rf"prefix is {_Q}, replace it with {_Q} and append {_Q} to the end\.", _replace_prefix),
    (
        rf"prefix is {_Q}, replace it with {_Q} and delete the last character\.",
        lambda a, b: _replace_prefix(a, b, drop_last=True),
    ),
    (
        rf"prefix is {_Q}, remove the first character\.",
        lambda a: lambda s: s[1:] if s.startswith(a) else None,
    ),
    (
        rf"prefix is {_Q}, delete the first two characters and append {_Q} to the end\.",
        lambda a, b: lambda s: s[2:] + b if s.startswith(a) else None,
    ),
    (
        rf"starts with {_Q}, remove the second character\.",
        lambda a: lambda s: s[0] + s[2:] if s.startswith(a) else None,
    ),
    (
        rf"starts with {_Q}, remove the first two characters\.",
        lambda a: lambda s: s[2:] if s.startswith(a) else None,
    ),
    (
        rf"starts with {_Q}, replace the first two characters with {_Q}\.",
        lambda a, b: lambda s: b + s[2:] if s.startswith(a) else None,
    ),
    (rf"contains {_Q}, replace the first occurrence with {_Q}\.", lambda a, b: _first_occurrence(a, b)),
    (
        rf"contains {_Q}, replace the first occurrence with its reverse \({_Q}\)\.",
        lambda a, b: _first_occurrence(a, b),
    ),
    (rf"contains {_Q}, delete the first occurrence entirely\.", lambda a: _first_occurrence(a, "")),
    (
        rf"contains {_Q} \(not at the start\), remove the first occurrence found after the first character\.",
        lambda a: _first_occurrence(a, "", start=1),
    ),
    (
        rf"contains an even number of {_Q}s \(and at least one {_Q}\), append {_Q} at the end\.",
        lambda a, _b, c: _even_count(a, c),
    ),
    (r"length is greater than 15, remove the middle character\.", lambda: _drop_middle),
)


def parse_rule(text: str) -> Rule:
    for pattern, build in _TEMPLATES:
        m = re.search(r"If the string " + pattern + r"$", text.strip())
        if m:
            return build(*m.groups())
    raise ValueError(f"unknown rule wording: {text!r}")


MAX_STEPS = 1000


def run_rules(initial: str, rule_texts: list[str]) -> list[str] | None:
    """States visited applying the first applicable rule each step until none applies; None if it never stops."""
    rules = [parse_rule(t) for t in rule_texts]
    states = [initial]
    for _ in range(MAX_STEPS):
        for rule in rules:
            new = rule(states[-1])
            if new is not None:
                states.append(new)
                break
        else:
            return states
    return None


# generation wordings; every one is read back by parse_rule, so the two cannot drift apart
_RULE_WORDINGS = (
    "If the string ends with '{a}', replace it with '{b}'.",
    "If the string suffix is '{a}', replace it with '{b}' and prepend '{c}' to the start.",
    "If the string suffix is '{a}', delete the last two characters.",
    "If the string ends with '{x}', remove the last character.",
    "If the string prefix is '{a}', replace it with '{b}'.",
    "If the string prefix is '{a}', replace it with '{b}' and delete the last character.",
    "If the string prefix is '{x}', remove the first character.",
    "If the string prefix is '{a}', delete the first two characters and append '{b}' to the end.",
    "If the string starts with '{a}', remove the second character.",
    "If the string starts with '{a}', replace the first two characters with '{b}'.",
    "If the string contains '{a}', replace the first occurrence with '{b}'.",
    "If the string contains '{a}', replace the first occurrence with its reverse ('{r}').",
    "If the string contains '{t}', delete the first occurrence entirely.",
    "If the string contains '{a}' (not at the start), remove the first occurrence found after the first character.",
    "If the string contains an even number of '{x}'s (and at least one '{x}'), append '{a}' at the end.",
    "If the string length is greater than 15, remove the middle character.",
)

_DELETION_INTRO = (
    "Cycle through the following operations one at a time until no further operations can be performed:\n\n"
)


def _deletion_question(initial: str, rules: list[str]) -> str:
    listed = "".join(f"{n}. {r}\n" for n, r in enumerate(rules, 1))
    return (
        f'{_DELETION_INTRO}{listed}\nFor the string "{initial}", what is the final string after performing all '
        'operations?\n\nProvide your answer as a string in the following format:\n\n<<< "some_final_string" >>>\n'
    )


@register
class StringDeletionModification(SampleFolderTask):
    id = "string_deletion_modification"
    paper_name = "String Deletion&Modif."
    split = "seen"
    description = "Apply the first applicable string rewriting rule repeatedly until none applies."
    answer_format = 'the final string in quotes, e.g. "abca"'
    data_dirs = ("string_deletion_and_modification",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        def word(n: int) -> str:
            return "".join(rng.choice("abc") for _ in range(n))

        while True:
            rules = []
            for wording in rng.sample(_RULE_WORDINGS, 2 + complexity):
                a = word(2)
                rules.append(wording.format(a=a, b=word(2), c=word(1), x=word(1), r=a[::-1], t=word(3)))
            initial = word(8 + 2 * complexity + rng.randint(0, 4))
            states = run_rules(initial, rules)
            if states is not None and len(states) > 1:
                break
        solution = {
            "initial_string": initial,
            "selected_rules": rules,
            "intermediate_states": states,
            "final_string": states[-1],
            "complexity": complexity,
        }
        meta = {"initial_string": initial, "rules": rules}
        return Sample(self.id, new_sample_id(rng), _deletion_question(initial, rules), solution, meta)

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        answer = _plain_string(content, "a-z")
        states = run_rules(sample.meta["initial_string"], sample.meta["rules"])
        if states is None:
            return Verdict(False, "the rules never stop on this string; no answer is correct")
        if answer == states[-1]:
            return Verdict(True, f"matches {states[-1]!r} after {len(states) - 1} operations")
        return Verdict(False, f"expected {states[-1]!r}, got {answer[:200]!r}")

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        rules = re.findall(r"^\d+\. (If the string .*)$", question, re.M)
        initial = re.search(r'For the string "([a-z]*)"', question).group(1)  # type: ignore[union-attr]
        return Sample(self.id, sample_id, question, solution, {"initial_string": initial, "rules": rules})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return f'<<< "{sample.solution["final_string"]}" >>>'
