"""GSM-Hard: grade-school word problems with large numbers (fixed dataset, 1319 questions).

Original layout: gsmhardv2.jsonl, one {"input", "code", "target"} object per line; `target` is a
float produced by running `code`. Answers are accepted within 1e-3 relative error of the target,
compared exactly (Fractions), so huge numbers do not lose precision.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from csteer.symbench.answers import close_relative, parse_single_number, refuse_text
from csteer.symbench.base import Sample, Task, Verdict, register

FILE_NAME = "gsmhardv2.jsonl"
FORMAT_LINE = (
    "Output the final answer as a number in the format <<<answer>>>, such as <<<123.42>>> or <<<-9867>>>."
)


def _number_text(value: float | int) -> str:
    """A target written as a model would: integers without ".0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


@register
class GSMHard(Task):
    id = "gsm_hard"
    paper_name = "GSM-Hard"
    split = "seen"
    description = "GSM-Hard: arithmetic word problems with large numbers; a numeric answer."
    answer_format = "a number, e.g. <<<-9867630>>> (1e-3 relative tolerance)"
    synthesized = False
    data_dirs = (FILE_NAME,)
    complexities = ()

    def load_dir(self, root: Path) -> Iterator[Sample]:
        path = Path(root) / FILE_NAME
        if not path.is_file():
            return
        with path.open(encoding="utf-8") as fh:
            for index, line in enumerate(fh):
                if not line.strip():
                    continue
                row = json.loads(line)
                yield Sample(
                    task=self.id,
                    id=f"gsmhardv2/{index}",
                    question=f"{row['input']}\n{FORMAT_LINE}",
                    solution=_number_text(row["target"]),
                    meta={"target": row["target"]},
                )

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        if (refused := refuse_text(answer_text)) is not None:
            return refused
        value, why = parse_single_number(answer_text)
        if value is None:
            return Verdict(False, why)
        target = Fraction(repr(float(sample.meta["target"])))
        if not close_relative(value, target):
            return Verdict(False, f"{float(value):.6g} is not within 1e-3 of {float(target):.6g}")
        return Verdict(True, f"{float(value):.6g} is within 1e-3 of {float(target):.6g}")
