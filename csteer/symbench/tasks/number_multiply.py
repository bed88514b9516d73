"""Number Multiply: the exact product of a few signed integers.

Original layout (two folders, same format):
  number_multiply/digit_1_2_4/sample_0/{input_prompt_1.txt, input_value_list.txt, target_answer.txt}
  number_multiply_varied_complexity/digit_8_8/sample_0/...
`input_value_list.txt` is a Python-style list of ints, `target_answer.txt` the product.

Verification is exact integer equality with the product of the factors (the reference accepted any
answer that *contained* the product as a substring, so "12345678" passed for 1234567).
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterator
from pathlib import Path

from csteer.fileio import atomic_write_text
from csteer.symbench.answers import answer_core, refuse_text
from csteer.symbench.base import Sample, Task, Verdict, register
from csteer.symbench.layout import content_tag, natural_key, relative_id

# complexity -> digits of each factor (the paper's settings, easiest first)
LEVELS: dict[int, tuple[int, ...]] = {
    1: (2, 2),
    2: (1, 2, 4),
    3: (1, 3, 4),
    4: (1, 2, 2, 4),
    5: (4, 4),
    6: (8, 8),
    7: (12, 12),
    8: (16, 16),
    9: (20, 20),
}
FORMAT_LINE = "Output the final answer as an integer in the format <<<answer>>>."
_FOLDER = re.compile(r"^digit(_\d+)+$")
_INTEGER = re.compile(r"[+-]?\d+")
_GROUPED = re.compile(r"[+-]?\d{1,3}([, _]\d{3})+")


def question_for(factors: list[int]) -> str:
    return "What is the result of " + "*".join(str(f) for f in factors) + "?"


def parse_integer(core: str) -> int | None:
    """An integer written plainly or with thousands separators ("1,234,567", "1 234 567")."""
    core = core.replace("\u2212", "-").strip()
    if _INTEGER.fullmatch(core) or _GROUPED.fullmatch(core):
        digits = re.sub(r"[, _]", "", core)
        if len(digits) > 4000:  # far beyond any product we pose; int() would be slow
            return None
        return int(digits)
    return None


@register
class NumberMultiply(Task):
    id = "number_multiply"
    paper_name = "Number Multiply"
    split = "unseen"
    description = "Multiply several signed integers exactly (digits per factor and factor count vary)."
    answer_format = "the exact integer product, e.g. <<<-171229311>>>"
    data_dirs = ("number_multiply", "number_multiply_varied_complexity")
    complexities = tuple(LEVELS)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        if complexity not in LEVELS:
            raise ValueError(f"complexity must be one of {list(LEVELS)}")
        factors = [_random_factor(rng, digits) for digits in LEVELS[complexity]]
        folder = "digit_" + "_".join(str(d) for d in LEVELS[complexity])
        question = question_for(factors)
        return self._sample(f"{self.data_dirs[0]}/{folder}/sample_{content_tag(question)}", question, factors)

    def _sample(self, sample_id: str, original_prompt: str, factors: list[int]) -> Sample:
        return Sample(
            task=self.id,
            id=sample_id,
            question=f"{original_prompt}\n{FORMAT_LINE}",
            solution=str(math.prod(factors)),
            meta={"factors": factors, "prompt": original_prompt},
        )

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        if (refused := refuse_text(answer_text)) is not None:
            return refused
        core = answer_core(answer_text)
        if not core:
            return Verdict(False, "empty answer")
        got = parse_integer(core)
        if got is None:
            return Verdict(False, f"not an integer: {core[:60]!r}")
        want = math.prod(sample.meta["factors"])
        if got != want:
            return Verdict(False, f"{got} is not the product {want}")
        return Verdict(True, f"equals the product {want}")

    def load_dir(self, root: Path) -> Iterator[Sample]:
        for data_dir in self.data_dirs:
            base = Path(root) / data_dir
            if not base.is_dir():
                continue
            for group in sorted(p for p in base.iterdir() if p.is_dir() and _FOLDER.match(p.name)):
                for folder in sorted(group.iterdir(), key=lambda p: natural_key(p.name)):
                    values = folder / "input_value_list.txt"
                    if not values.is_file():
                        continue
                    factors = json.loads(values.read_text(encoding="utf-8"))
                    prompt_file = folder / "input_prompt_1.txt"
                    prompt = (
                        prompt_file.read_text(encoding="utf-8").strip()
                        if prompt_file.is_file()
                        else question_for(factors)
                    )
                    sample = self._sample(relative_id(folder, root), prompt, factors)
                    target_file = folder / "target_answer.txt"
                    if target_file.is_file():
                        # keep the stored answer (not our product) so selfcheck tests the data
                        stored = target_file.read_text(encoding="utf-8").strip()
                        sample = Sample(sample.task, sample.id, sample.question, stored, sample.meta)
                    yield sample

    def write_sample(self, sample: Sample, out_dir: Path) -> Path:
        folder = Path(out_dir) / sample.id
        factors = sample.meta["factors"]
        atomic_write_text(folder / "input_prompt_1.txt", sample.meta.get("prompt") or question_for(factors))
        atomic_write_text(folder / "input_value_list.txt", str(list(factors)))
        atomic_write_text(folder / "target_answer.txt", str(sample.solution))
        return folder


def _random_factor(rng: random.Random, digits: int) -> int:
    """A signed integer with exactly `digits` digits, never 0 or +-1 (they make the task trivial)."""
    low = 2 if digits == 1 else 10 ** (digits - 1)
    return rng.randint(low, 10**digits - 1) * rng.choice((-1, 1))
