"""The four BIG-Bench-Hard tasks of SymBench (fixed datasets, 250 questions each).

Original layout: BIG-Bench-Hard/bbh/<name>.json = {"canary": ..., "examples": [{"input", "target"}]}.
The reference judged answers with GPT-4o; here they are checked deterministically: multiple-choice
tasks by option letter (the option text alone also counts), the others by an exact Yes/No.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from csteer.symbench.answers import (
    parse_option_letter,
    parse_yes_no,
    question_options,
    refuse_text,
)
from csteer.symbench.base import Sample, Task, Verdict, register

FORMAT_CHOICE = "Output the final answer as the option letter in the format <<<answer>>>, such as <<<(A)>>>."
FORMAT_YES_NO = "Output the final answer, Yes or No, in the format <<<answer>>>, such as <<<Yes>>>."


class _BBHTask(Task):
    """One BBH json file; `kind` is "choice" (option letters) or "yes_no"."""

    synthesized = False
    data_dirs = ("BIG-Bench-Hard",)
    complexities = ()
    file_name: ClassVar[str]
    kind: ClassVar[str]

    def load_dir(self, root: Path) -> Iterator[Sample]:
        path = Path(root) / "BIG-Bench-Hard" / "bbh" / self.file_name
        if not path.is_file():
            return
        examples = json.loads(path.read_text(encoding="utf-8"))["examples"]
        for index, example in enumerate(examples):
            fmt = FORMAT_CHOICE if self.kind == "choice" else FORMAT_YES_NO
            yield Sample(
                task=self.id,
                id=f"{path.stem}/{index}",
                question=f"{example['input']}\n{fmt}",
                solution=str(example["target"]).strip(),
                meta={"input": example["input"]},
            )

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        if (refused := refuse_text(answer_text)) is not None:
            return refused
        target = str(sample.solution).strip()
        if self.kind == "choice":
            options = question_options(sample.meta["input"])
            letter, why = parse_option_letter(answer_text, options)
            if letter is None:
                return Verdict(False, why)
            want = target.strip("()")
            if letter != want:
                return Verdict(False, f"chose ({letter}), expected ({want})")
            return Verdict(True, f"chose ({letter})")
        said = parse_yes_no(answer_text)
        if said is None:
            return Verdict(False, "answer is not exactly Yes or No")
        if said != target:
            return Verdict(False, f"answered {said}, expected {target}")
        return Verdict(True, f"answered {said}")


@register
class DateUnderstanding(_BBHTask):
    id = "date_understanding"
    paper_name = "Date Understanding"
    split = "seen"
    description = "BBH: reason about dates described in text; pick the right date option."
    answer_format = "the option letter, e.g. <<<(B)>>>"
    file_name = "date_understanding.json"
    kind = "choice"


@register
class WebOfLies(_BBHTask):
    id = "web_of_lies"
    paper_name = "Web of Lies"
    split = "seen"
    description = "BBH: follow a chain of who tells the truth and who lies; answer Yes or No."
    answer_format = "<<<Yes>>> or <<<No>>>"
    file_name = "web_of_lies.json"
    kind = "yes_no"


@register
class LogicalDeduction(_BBHTask):
    id = "logical_deduction"
    paper_name = "Logical Deduction"
    split = "seen"
    description = "BBH: order seven objects from clues (seven-object variant); pick the true statement."
    answer_format = "the option letter, e.g. <<<(D)>>>"
    file_name = "logical_deduction_seven_objects.json"
    kind = "choice"


@register
class Navigation(_BBHTask):
    id = "navigation"
    paper_name = "Navigation"
    split = "seen"
    description = "BBH: follow movement instructions; answer whether they return to the start (Yes/No)."
    answer_format = "<<<Yes>>> or <<<No>>>"
    file_name = "navigate.json"
    kind = "yes_no"
