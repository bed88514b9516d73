"""String Synthesis, String Splitting and Synthesis Decomposition: run exchange recipes until none applies.

Each task is a list of recipes (consume some counts, produce others) applied in a fixed order.
Two schedules occur in the reference data: "first applicable recipe, then restart from recipe 1"
(String Synthesis) and "one pass over all recipes, each at most once, repeated" (the other two).
Answers are compared as parsed lists of counts, never as concatenated strings ("1 10" vs "11 0").
"""

from __future__ import annotations

import random
import re
from typing import Any

from csteer.symbench.answers import MalformedAnswer, guarded, ints_in
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask, new_sample_id

Recipe = tuple[dict[str, int], dict[str, int]]  # (consumed, produced)
MAX_STEPS = 100_000


def _applicable(state: dict[str, int], recipe: Recipe) -> bool:
    return all(state.get(k, 0) >= n for k, n in recipe[0].items())


def _apply(state: dict[str, int], recipe: Recipe) -> None:
    for k, n in recipe[0].items():
        state[k] -= n
    for k, n in recipe[1].items():
        state[k] = state.get(k, 0) + n


def run_restart(state: dict[str, int], recipes: list[Recipe]) -> list[dict[str, int]]:
    """Apply the first applicable recipe, start again from recipe 1; return the states after each step."""
    state, states = dict(state), []
    for _ in range(MAX_STEPS):
        recipe = next((r for r in recipes if _applicable(state, r)), None)
        if recipe is None:
            break
        _apply(state, recipe)
        states.append(dict(state))
    return states or [state]


def run_passes(state: dict[str, int], recipes: list[Recipe]) -> list[dict[str, int]]:
    """Cycle through the recipes in order, each applied once when it can; stop after a pass with no change."""
    state, states = dict(state), []
    for _ in range(MAX_STEPS):
        changed = False
        for recipe in recipes:
            if _applicable(state, recipe):
                _apply(state, recipe)
                states.append(dict(state))
                changed = True
        if not changed:
            break
    return states or [state]


def _counts_verdict(expected: list[int], content: str, labels: list[str]) -> Verdict:
    answer = ints_in(content)
    if len(answer) != len(expected):
        raise MalformedAnswer(f"expected {len(expected)} counts ({', '.join(labels)}), got {len(answer)}")
    if answer == expected:
        return Verdict(True, f"matches {expected}")
    wrong = [
        f"{lab}={a} (expected {e})" for lab, a, e in zip(labels, answer, expected, strict=True) if a != e
    ]
    return Verdict(False, "wrong counts: " + ", ".join(wrong))


# ---------------------------------------------------------------- String Synthesis

_BLOCKS = ["[A]", "[B]", "[C]", "{A}", "{B}", "{C}", "(A)", "(B)", "(C)"]
_SYNTHESIS: list[Recipe] = [
    ({"[A]": 1, "[B]": 1, "[C]": 1}, {"{A}": 1}),
    ({"[A]": 1, "[B]": 1}, {"{C}": 1}),
    ({"[B]": 1, "[C]": 1}, {"{B}": 1}),
    ({"[C]": 2}, {"{C}": 1}),
    ({"{A}": 1, "{C}": 1}, {"(A)": 1, "(B)": 1}),
    ({"{B}": 2}, {"(C)": 1}),
]
_SYNTHESIS_TEXT = (
    "There are nine different blocks [A], [B], [C], {A}, {B}, {C}, (A), (B), (C) that satisfy:\n"
    "1. One [A], one [B], and one [C] can be combined to form one {A}.\n"
    "2. One [A] and one [B] can be combined to form one {C}.\n"
    "3. One [B] and one [C] can be combined to form one {B}.\n"
    "4. Two [C] can be combined to form one {C}.\n"
    "5. One {A} and one {C} can be combined to form one (A) and one (B).\n"
    "6. Two {B} can be combined to form one (C).\n\n"
    "Cycle through Methods 1..6 repeatedly until no more changes can be made.\n\n"
    "Question: If we now have {a} [A], {b} [B], and {c} [C], what will the synthesized block be?\n\n"
    "Return your final answer with the exact format:\n<<<a string of the number of certain block>>>\nYour answer:\n"
)


def synthesis_counts(a: int, b: int, c: int) -> list[int]:
    final = run_restart({"[A]": a, "[B]": b, "[C]": c}, _SYNTHESIS)[-1]
    return [final.get(k, 0) for k in _BLOCKS]


@register
class StringSynthesis(SampleFolderTask):
    id = "string_synthesis"
    paper_name = "String Synthesis"
    split = "seen"
    description = "Combine blocks by six recipes until none applies; report the nine block counts."
    answer_format = "nine counts in the order [A] [B] [C] {A} {B} {C} (A) (B) (C), e.g. 1 0 0 2 0 1 0 0 0"
    data_dirs = ("string_synthesis",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        a, b, c = (rng.randint(1, 2 + 2 * complexity) for _ in range(3))
        final = synthesis_counts(a, b, c)
        stored = {
            "A_count": a,
            "B_count": b,
            "C_count": c,
            "final_counts": final,
            "complexity": complexity,
            "solution_string": "<<<" + " ".join(map(str, final)) + ">>>",
        }
        question = _SYNTHESIS_TEXT.replace("{a}", str(a)).replace("{b}", str(b)).replace("{c}", str(c))
        return Sample(self.id, new_sample_id(rng), question, stored, {"counts": [a, b, c]})

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        return _counts_verdict(synthesis_counts(*sample.meta["counts"]), content, _BLOCKS)

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        m = re.search(r"we now have (\d+) \[A\], (\d+) \[B\], and (\d+) \[C\]", question)
        counts = [int(g) for g in m.groups()]  # type: ignore[union-attr]
        return Sample(self.id, sample_id, question, solution, {"counts": counts})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return sample.solution["solution_string"]


# ---------------------------------------------------------------- String Splitting

_SPLITTING: list[Recipe] = [
    ({"A": 1}, {"X": 2, "Y": 1}),
    ({"B": 2}, {"X": 1}),
    ({"C": 2}, {"Y": 1}),
    ({"B": 1, "C": 1}, {"A": 1}),
    ({"X": 1, "Y": 1}, {"Z": 1}),
]
_SPLIT_ORDER = ["A", "B", "C", "X", "Y", "Z"]
_SPLITTING_WORDINGS = (
    (
        "Method 1: One unit of machine A can be dismantled into two units of part X and one unit of part Y per round.",
        "Method 1: Each round, one machine A breaks down into two part X and one part Y.",
        "Method 1: Dismantling a single machine A yields two part X and one part Y each cycle.",
    ),
    (
        "Method 2: Two units of machine B can be dismantled into one unit of part X per round.",
        "Method 2: Every round, dismantling two machines B results in one part X.",
        "Method 2: Dismantling two machine B units produces one part X each cycle.",
    ),
    (
        "Method 3: Two units of machine C can be dismantled into one unit of part Y per round.",
        "Method 3: Each round, two machines C break down into one part Y.",
        "Method 3: Dismantling two machine C units yields one part Y each cycle.",
    ),
    (
        "Method 4: One unit of machine B and one unit of machine C can be combined into one unit of machine A per round.",
        "Method 4: Combining one machine B and one machine C results in one machine A each cycle.",
        "Method 4: Every round, merging one machine B with one machine C creates one machine A.",
    ),
    (
        "Method 5: One unit of part X and one unit of part Y can be combined into one unit of part Z per round.",
        "Method 5: Each round, one part X and one part Y merge to form one part Z.",
        "Method 5: Combining one part X with one part Y produces one part Z each cycle.",
    ),
)


def splitting_counts(a: int, b: int, c: int) -> list[int]:
    final = run_passes({"A": a, "B": b, "C": c}, _SPLITTING)[-1]
    return [final.get(k, 0) for k in _SPLIT_ORDER]


def _splitting_question(rng: random.Random, a: int, b: int, c: int) -> str:
    methods = "\n".join(rng.choice(options) for options in _SPLITTING_WORDINGS)
    return (
        "There is a dismantling engineer who has old machines A, B, and C. He discovered that he can obtain a batch "
        f"of new parts X, Y, and Z through the following methods:\n{methods}\n\n"
        "Xiao Li continuously cycles through these methods in the given order, executing one method at a time. After "
        "Method 5, start again from Method 1. Continue this cycle until no method can be executed. Initially, there "
        f"are {a} units of Machine A, {b} units of Machine B, and {c} units of Machine C. How many parts X, Y, and Z "
        "can Li ultimately obtain, and how many machines A, B, and C will remain?\n\n"
        "Generate the answer in the format <<<a string representing the outcome in the order of machines A, B, C, "
        "parts X, Y, Z>>>. For example, if Machine A has 1 unit, Machine B has 0 units, Machine C has 1 unit, Part X "
        "has 1 unit, Part Y has 1 unit, and Part Z has 1 unit, it should be represented as "
        '["1", "0", "1", "1", "1", "1"].\nYour answer:'
    )


@register
class StringSplitting(SampleFolderTask):
    id = "string_splitting"
    paper_name = "String Splitting"
    split = "unseen"
    description = (
        "Dismantle and combine machines and parts by five methods in cycles; report the final counts."
    )
    answer_format = 'six counts for A, B, C, X, Y, Z, e.g. ["1", "0", "1", "1", "1", "1"]'
    data_dirs = ("string_splitting",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        a, b, c = (rng.randint(1, 2 + 2 * complexity) for _ in range(3))
        final = splitting_counts(a, b, c)
        stored = {
            "expected_answer": [str(v) for v in final],
            "final_counts": dict(zip(_SPLIT_ORDER, final, strict=True)),
            "complexity": complexity,
        }
        return Sample(
            self.id, new_sample_id(rng), _splitting_question(rng, a, b, c), stored, {"counts": [a, b, c]}
        )

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        return _counts_verdict(splitting_counts(*sample.meta["counts"]), content, _SPLIT_ORDER)

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        m = re.search(
            r"(\d+) units of Machine A, (\d+) units of Machine B, and (\d+) units of Machine C", question
        )
        counts = [int(g) for g in m.groups()]  # type: ignore[union-attr]
        return Sample(self.id, sample_id, question, solution, {"counts": counts})

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer."""
        return "<<<" + str(sample.solution["expected_answer"]).replace("'", '"') + ">>>"


# ---------------------------------------------------------------- Synthesis Decomposition

_ITEM = re.compile(r"(\d+) units? of (?:crop|product) ([A-Z])")
_FARM_KEYS = ["A", "B", "C", "X", "Y"]
# the recipe sets of the original data, written the way the questions word them
_FARM_SETS = (
    [({"A": 1, "B": 1}, {"X": 1}), ({"A": 3}, {"X": 2})],
    [({"A": 1, "B": 1, "C": 1}, {"X": 1}), ({"A": 1, "B": 1}, {"C": 2}), ({"C": 2}, {"X": 1})],
    [
        ({"A": 2, "B": 1, "C": 1}, {"X": 3}),
        ({"A": 1, "B": 1}, {"C": 2}),
        ({"C": 2, "X": 1}, {"Y": 1}),
        ({"A": 1, "X": 2}, {"Y": 1}),
    ],
)


def parse_farm_methods(question: str) -> list[Recipe]:
    recipes = []
    for line in re.findall(r"^Method \d+: (.*)$", question, re.M):
        given, _, got = line.partition(" can be exchanged for ")
        recipes.append(
            (
                {k: int(n) for n, k in _ITEM.findall(given)},
                {k: int(n) for n, k in _ITEM.findall(got.split(",")[0])},
            )
        )
    if not recipes or any(not c or not p for c, p in recipes):
        raise ValueError("question lists no readable methods")
    return recipes


def _units(items: dict[str, int]) -> str:
    def one(k: str, n: int) -> str:
        kind = "crop" if k in "ABC" else "product"
        return f"{n} unit{'s' if n > 1 else ''} of {kind} {k}"

    return " and ".join(one(k, n) for k, n in items.items())


def _farm_question(recipes: list[Recipe], initial: dict[str, int]) -> str:
    crops = [k for k in "ABC" if k in initial]
    products = [k for k in "XY" if any(k in p or k in c for c, p in recipes)]
    crop_names = " and ".join(crops) if len(crops) == 2 else "A, B, and C"
    product_names = " and ".join(products)
    noun = "product" if len(products) == 1 else "products"
    lines = []
    for n, (given, got) in enumerate(recipes, 1):
        # crop C bought back as an output keeps the original wording "product C"
        out = " and ".join(f"{v} unit{'s' if v > 1 else ''} of product {k}" for k, v in got.items())
        lines.append(
            f"Method {n}: {_units(given)} can be exchanged for {out}, and this can be done only once per cycle.\n\n"
        )
    labels = [f"remaining_{k}" for k in crops] + [f"obtained_{k}" for k in products]
    have = ", ".join(f"{initial[k]} units of crop {k}" for k in crops)
    return (
        f"Xiao Li is a farm owner who grows {crop_names}. He can exchange these crops for agricultural {noun} "
        f"{product_names}. He has discovered the following methods to increase the farm's yield:\n\n"
        + "".join(lines)
        + "Xiao Li continuously cycles through these methods in the given order, executing one method at a time. "
        f"After Method {len(recipes)}, start again from Method 1. Continue this cycle until no method can be "
        f"executed.\n\nInitially there are {have}.\n\nFirst output the entire reasoning process step by step, "
        "showing each synthesis step's result. Then wrap your final answer in <<<>>> format as a list showing "
        f"[{', '.join(labels)}]. For example, output: <<<[{', '.join('1' for _ in labels)}]>>>"
    )


def _farm_labels(question: str) -> list[str]:
    m = re.search(r"as a list showing \[([^\]]*)\]", question)
    if not m:
        raise ValueError("question does not name the answer list")
    return [name.strip().split("_")[-1] for name in m.group(1).split(",")]


@register
class SynthesisDecomposition(SampleFolderTask):
    id = "synthesis_decomposition"
    paper_name = "Synthesis Decompo."
    split = "unseen"
    description = (
        "Exchange crops for products by methods applied in cycles; report what remains and what was made."
    )
    answer_format = "the list the question names, e.g. [remaining_A, remaining_B, obtained_X] = [1, 0, 3]"
    data_dirs = ("synthesis_decomposition_dataset",)
    complexities = (1, 2, 3, 4, 5)

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        recipes = _FARM_SETS[min(2, (complexity + 1) // 2)]
        crops = "AB" if recipes is _FARM_SETS[0] else "ABC"
        initial = {k: rng.randint(1, 3 + 2 * complexity) for k in crops}
        states = run_passes(initial, recipes)
        question = _farm_question(recipes, initial)
        vector = [[str(s.get(k, 0)) for k in _FARM_KEYS] for s in states]
        stored = {
            "initial_state": initial,
            "solution": {"answer": vector[-1], "process": vector},
            "complexity": complexity,
        }
        meta = {"recipes": [[c, p] for c, p in recipes], "initial": initial, "labels": _farm_labels(question)}
        return Sample(self.id, new_sample_id(rng), question, stored, meta)

    @guarded
    def verify(self, sample: Sample, content: str) -> Verdict:
        recipes = [(c, p) for c, p in sample.meta["recipes"]]
        final = run_passes(sample.meta["initial"], recipes)[-1]
        labels = sample.meta["labels"]
        return _counts_verdict([final.get(k, 0) for k in labels], content, labels)

    def from_stored(self, sample_id: str, question: str, solution: Any) -> Sample:
        have = re.search(r"Initially there are (.*?)\.\n", question).group(1)  # type: ignore[union-attr]
        initial = {k: int(n) for n, k in _ITEM.findall(have)}
        recipes = parse_farm_methods(question)
        meta = {
            "recipes": [[c, p] for c, p in recipes],
            "initial": initial,
            "labels": _farm_labels(question),
        }
        return Sample(self.id, sample_id, question, solution, meta)

    def reference_answer(self, sample: Sample) -> str:
        """The stored reference solution written as an answer (its five counts cut to the asked labels)."""
        full = dict(zip(_FARM_KEYS, sample.solution["solution"]["answer"], strict=True))
        return "<<<[" + ", ".join(full[k] for k in sample.meta["labels"]) + "]>>>"
