"""The CodeSteer paper's per-task results (Table 1, arXiv 2502.04350), shipped as
csteer/data/symbench-table1.csv, and the mapping from a task id to its row.

Scores are success rates in percent with GPT-4o as the task model. A bench report prints them next
to a run so users see where they stand.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

SOURCE = "CodeSteer paper, Table 1 (arXiv 2502.04350)"

# CSV column -> the method as the paper names it
METHODS: dict[str, str] = {
    "o1": "o1",
    "deepseek_r1": "DeepSeek R1",
    "o1_preview": "o1-preview",
    "gpt4o_only_question": "GPT-4o (only question)",
    "symbolic_agent": "Symbolic Agent",
    "all_text_cot": "All Text + CoT",
    "all_code_cot": "All Code + CoT",
    "autogen_conca": "AutoGen Conca.",
    "code_text_sum1": "Code + Text + Sum.1",
    "code_text_sum2": "Code + Text + Sum.2",
    "code_text_choice": "Code/Text Choice",
    "code_interpreter": "Code Interpreter",
    "gpt4o_codesteer": "GPT-4o + CodeSteer",
}


@dataclass(frozen=True)
class PaperRow:
    name: str  # the task as Table 1 names it (abbreviated: "Cons. Linear Arrange.")
    split: str  # "seen" or "unseen"
    scores: dict[str, float]  # CSV method column -> success rate in percent

    @property
    def best(self) -> float:
        return max(self.scores.values())

    def normalized(self, method: str) -> float | None:
        """The paper's Ave.Norm term for one method: its score over the best score of all methods."""
        score = self.scores.get(method)
        if score is None or self.best == 0:
            return None
        return score / self.best


@lru_cache(maxsize=1)
def paper_table() -> dict[str, PaperRow]:
    """Table 1 rows keyed by the paper's task name, in the paper's order."""
    text = resources.files("csteer").joinpath("data/symbench-table1.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    rows: dict[str, PaperRow] = {}
    for record in csv.DictReader(io.StringIO("\n".join(lines))):
        name = record.pop("task").strip()
        split = record.pop("split").strip()
        scores = {column: float(value) for column, value in record.items() if value not in (None, "")}
        rows[name] = PaperRow(name, split, scores)
    return rows


_STOPWORDS = {"and", "the", "of"}


def _words(name: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", name.lower()) if w not in _STOPWORDS]


def _abbreviates(short: str, full: str) -> bool:
    """True when each word of the table's (abbreviated) name starts the matching word of `full`:
    "Cons. Linear Arrange." ~ "Constrained Linear Arrangement", "Eight Queen" ~ "Eight Queens"."""
    a, b = _words(short), _words(full)
    return len(a) == len(b) and all(y.startswith(x) for x, y in zip(a, b, strict=True))


def paper_row_for_name(paper_name: str) -> PaperRow | None:
    """The Table 1 row for a task's `paper_name` (exact, else by abbreviation), or None."""
    table = paper_table()
    if paper_name in table:
        return table[paper_name]
    matches = [row for name, row in table.items() if _abbreviates(name, paper_name)]
    return matches[0] if len(matches) == 1 else None


def paper_row(task_id: str) -> PaperRow | None:
    """The Table 1 row of a registered task (through its `paper_name`), or None when it has none."""
    from csteer.symbench.base import get_task

    return paper_row_for_name(get_task(task_id).paper_name)
