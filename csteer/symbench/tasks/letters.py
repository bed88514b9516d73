"""Letters: count a letter in a (long, often synthetic) word and list its 1-based positions.

Original layout: Letters/Letters_dataset_min_length_<lo>_max_length_<hi>/<letter>_<count>_<index>/
test_words.json, which holds the word as a JSON string. The letter comes from the folder name; the
reference answer is computed from the word.

Verification parses "Count: X, Positions: [..]" (any case/spacing, brackets or parentheses) and
requires the count and the exact set of positions, without duplicates.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Iterator
from pathlib import Path

from csteer.fileio import atomic_write_text
from csteer.symbench.answers import answer_core, refuse_text
from csteer.symbench.base import Sample, Task, Verdict, register
from csteer.symbench.layout import content_tag, natural_key, relative_id

# complexity -> (min length, max length, letter counts drawn from), as in the original folders
LEVELS: dict[int, tuple[int, int, tuple[int, ...]]] = {
    1: (5, 10, (1, 2, 3, 4, 5)),
    2: (10, 15, (1, 2, 3, 4, 5)),
    3: (15, 20, (1, 2, 3, 4, 5)),
    4: (20, 25, (1, 2, 3, 4, 5)),
    5: (25, 30, (1, 2, 3, 4, 5)),
    6: (50, 100, (12, 25)),
    7: (150, 200, (25, 50)),
    8: (350, 400, (50, 100)),
    9: (750, 800, (100, 200)),
}
_SET_DIR = re.compile(r"^Letters_dataset_min_length_(\d+)_max_length_(\d+)$")
_SAMPLE_DIR = re.compile(r"^([a-z])_(\d+)_(\w+)$")
_ANSWER = re.compile(
    r"count\s*[:=]?\s*(\d{1,6})\s*[,;]?\s*(?:and\s+)?positions?\s*[:=]?\s*[\[(]([^\])]*)[\])]",
    re.IGNORECASE | re.DOTALL,
)


def question_for(word: str, letter: str) -> str:
    return (
        f"How many '{letter}'s are in the word '{word}' and what are their positions? "
        "The position in the word counts from 1 not 0.\n"
        "Surround the answer with <<<content>>>. Please respond in the format: "
        "<<<Count: X, Positions: [Y, Z, ...]>>>, such as <<<Count: 2, Positions: [1, 3]>>>."
    )


def positions_of(word: str, letter: str) -> list[int]:
    return [i + 1 for i, ch in enumerate(word) if ch == letter]


def format_answer(positions: list[int]) -> str:
    return f"Count: {len(positions)}, Positions: [{', '.join(str(p) for p in positions)}]"


@register
class Letters(Task):
    id = "letters"
    paper_name = "Letters"
    split = "unseen"
    description = "Count how often a letter occurs in a word and give its 1-based positions."
    answer_format = "<<<Count: X, Positions: [Y, Z, ...]>>>"
    data_dirs = ("Letters",)
    complexities = tuple(LEVELS)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        if complexity not in LEVELS:
            raise ValueError(f"complexity must be one of {list(LEVELS)}")
        low, high, counts = LEVELS[complexity]
        letter = rng.choice(string.ascii_lowercase)
        count = rng.choice(counts)
        length = rng.randint(max(low, count), high)
        others = [c for c in string.ascii_lowercase if c != letter]
        chars = [letter] * count + [rng.choice(others) for _ in range(length - count)]
        rng.shuffle(chars)
        word = "".join(chars)
        folder = f"Letters_dataset_min_length_{low}_max_length_{high}/{letter}_{count}_{content_tag(word)}"
        return self._sample(f"{self.data_dirs[0]}/{folder}", word, letter)

    def _sample(self, sample_id: str, word: str, letter: str) -> Sample:
        return Sample(
            task=self.id,
            id=sample_id,
            question=question_for(word, letter),
            solution=format_answer(positions_of(word, letter)),
            meta={"word": word, "letter": letter},
        )

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        if (refused := refuse_text(answer_text)) is not None:
            return refused
        core = answer_core(answer_text)
        if not core:
            return Verdict(False, "empty answer")
        found = _ANSWER.findall(core)
        if len(found) != 1:
            what = "no" if not found else "more than one"
            return Verdict(False, f"{what} 'Count: X, Positions: [..]' in {core[:60]!r}")
        count_text, positions_text = found[0]
        items = [p.strip() for p in positions_text.split(",") if p.strip()]
        if not all(re.fullmatch(r"\d{1,6}", p) for p in items):
            return Verdict(False, f"positions must be integers: [{positions_text[:60]}]")
        positions = [int(p) for p in items]
        want = positions_of(sample.meta["word"], sample.meta["letter"])
        if int(count_text) != len(want):
            return Verdict(False, f"count {int(count_text)}, expected {len(want)}")
        if len(set(positions)) != len(positions):
            return Verdict(False, "positions repeat")
        if sorted(positions) != want:
            return Verdict(False, f"positions {sorted(positions)[:20]} differ from {want[:20]}")
        return Verdict(True, f"count {len(want)} and all positions match")

    def load_dir(self, root: Path) -> Iterator[Sample]:
        base = Path(root) / self.data_dirs[0]
        if not base.is_dir():
            return
        for length_dir in sorted(base.iterdir(), key=_length_key):
            if not (length_dir.is_dir() and _SET_DIR.match(length_dir.name)):
                continue
            for folder in sorted(length_dir.iterdir(), key=lambda p: natural_key(p.name)):
                m = _SAMPLE_DIR.match(folder.name)
                words = folder / "test_words.json"
                if not (m and words.is_file()):
                    continue
                word = json.loads(words.read_text(encoding="utf-8"))
                if isinstance(word, list):  # tolerate a one-word list
                    word = word[0]
                yield self._sample(relative_id(folder, root), str(word), m.group(1))

    def write_sample(self, sample: Sample, out_dir: Path) -> Path:
        folder = Path(out_dir) / sample.id
        atomic_write_text(folder / "test_words.json", json.dumps(sample.meta["word"]))
        return folder


def _length_key(path: Path) -> tuple[int, str]:
    m = _SET_DIR.match(path.name)
    return (int(m.group(1)) if m else 10**9, path.name)
