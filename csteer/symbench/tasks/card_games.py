"""Three rule-following tasks: Mahjong (Peng/Chi/Pass of the final round), Statistical Counting
(score runs of repeated letters) and Constrained Linear Arrangement (deduce the opponent's cards).

Layouts: mahjong_pattern_dataset/, statistical_counting_dataset/, constrained_linear_arrangement/,
each sample_<i>/{question.txt, solution.json}. Every verifier recomputes the answer (or, for the
arrangement, checks the answer against every round) from the question's rules.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from typing import Any

from csteer.symbench.answers import answer_body, letters_list
from csteer.symbench.base import Sample, Verdict, register
from csteer.symbench.layout import SampleFolderTask


def _single_int(body: str) -> int | None:
    # at most 30 digits: a count is small, and int() of a 50,000-digit string raises
    m = re.fullmatch(r"\s*[\[(]?\s*([+-]?\d{1,30})\s*[\])]?\s*", body)
    return int(m.group(1)) if m else None


# ------------------------------------------------------------------------------------------ Mahjong

_MAHJONG_PENG = (
    "There are several letter cards, and the game rules are as follows:1. Initially, there are 13 cards.\n"
    "2. Each time, a new card is added, and a result is determined. Then, one card is removed.\n"
    "3. When there are two identical cards in hand, and the newly added card is the same as these two cards, the "
    'result is determined as "Peng," represented by the number 1.\n'
)
_MAHJONG_RULES = {
    False: _MAHJONG_PENG
    + '4. If the newly added card does not meet the condition in rule 3, the result is determined as "Pass," '
    "represented by the number 0.\n5. The removed card does not affect the result determination.\n",
    True: _MAHJONG_PENG
    + "4. If two cards in hand and the new card can form a consecutive letter sequence, the result is determined as "
    '"Chi," represented by the number 2. For example, ABC, OPQ, etc.\n'
    '5. If the new card does not meet the conditions of 3 and 4, the result is determined as "Pass," represented '
    'by the number 0.\n6. "Peng" takes precedence over "Chi."\n7. The card that is removed does not affect the '
    "result determination.\n",
}


def mahjong_result(hand: list[str], new: str, chi: bool) -> int:
    if hand.count(new) >= 2:
        return 1
    if chi:
        c = ord(new)
        for a, b in ((c - 2, c - 1), (c - 1, c + 1), (c + 1, c + 2)):
            if chr(a) in hand and chr(b) in hand:
                return 2
    return 0


def mahjong_parse(question: str) -> dict[str, Any]:
    m = re.search(r"Given the initial cards:\s*(\S+)", question)
    if not m:
        raise ValueError("cannot read the initial cards")
    rounds = [
        {"add": a, "remove": r or None}
        for a, r in re.findall(r"Round \d+: Add a (\S) card(?: and remove a (\S) card)?", question)
    ]
    return {"initial_cards": m.group(1), "rounds": rounds, "chi": '"Chi,"' in question}


def mahjong_final(meta: dict[str, Any]) -> int:
    hand = list(meta["initial_cards"])
    result = 0
    for rnd in meta["rounds"]:
        result = mahjong_result(hand, rnd["add"], meta["chi"])
        hand.append(rnd["add"])
        if rnd.get("remove"):
            hand.remove(rnd["remove"])
    return result


def parsed_sample(
    task_id: str, sample_id: str, question: str, data: Any, parse: Callable[[str], dict[str, Any]]
) -> Sample:
    """A stored sample whose verifier data is read from the question text (these three tasks store only
    the solution and the complexity beside it)."""
    return Sample(
        task_id,
        sample_id,
        question,
        data.get("solution"),
        {**parse(question), "complexity": data.get("complexity")},
    )


@register
class Mahjong(SampleFolderTask):
    id = "mahjong"
    paper_name = "Mahjong"
    split = "seen"
    description = "Follow add/remove rounds of letter cards and judge the final round: Pass 0, Peng 1, Chi 2."
    answer_format = "one digit, <<<0>>>, <<<1>>> or <<<2>>>"
    data_dirs = ("mahjong_pattern_dataset",)
    folder_name_ids = True
    complexities = (1, 2, 3, 4, 5)

    def from_stored(self, sample_id: str, question: str, data: Any) -> Sample:
        return parsed_sample(self.id, sample_id, question, data, mahjong_parse)

    def to_stored(self, sample: Sample) -> Any:
        m = sample.meta
        rounds = [
            {"add": r["add"], "remove": r.get("remove") or random.choice(m["initial_cards"])}
            for r in m["rounds"]
        ]
        return {
            "initial_cards": m["initial_cards"],
            "rounds": rounds,
            "solution": sample.solution,
            "complexity": m.get("complexity"),
        }

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        got = _single_int(body)
        names = {0: "Pass", 1: "Peng", 2: "Chi"}
        if got is None:
            word = body.strip().strip("'\"").lower()
            got = next((k for k, v in names.items() if v.lower() == word), None)
        if got is None:
            return Verdict(False, "expected 0, 1 or 2")
        want = mahjong_final(sample.meta)
        if got != want:
            return Verdict(False, f"final round is {want} ({names[want]}), not {got}")
        return Verdict(True, f"final round is {want} ({names[want]})")

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        chi = complexity >= 2
        alphabet = string.ascii_uppercase[: 8 + 3 * complexity]
        hand = [rng.choice(alphabet) for _ in range(13)]
        initial = "".join(hand)
        rounds = []
        for i in range(complexity):
            add = rng.choice(alphabet)
            cur = hand + [add]
            remove = rng.choice(cur)
            rounds.append({"add": add, "remove": remove if i < complexity - 1 else None})
            hand = cur
            hand.remove(remove)
        meta = {"initial_cards": initial, "rounds": rounds, "chi": chi, "complexity": complexity}
        lines = []
        for i, r in enumerate(rounds, 1):
            tail = f" and remove a {r['remove']} card." if r["remove"] else ""
            lines.append(f"Round {i}: Add a {r['add']} card{tail}")
        answer = "0 for Pass, 1 for Peng, or 2 for Chi" if chi else "0 for Pass, 1 for Peng"
        question = (
            _MAHJONG_RULES[chi]
            + f"Given the initial cards:{initial}\n\n"
            + "\n".join(lines)
            + "\n\nBased on the above information, determine the number judged in the final round.\n"
            + f"Return your answer with the format <<<x>>>, where x is {answer}."
        )
        return Sample(
            self.id, f"gen_{complexity}_{rng.randrange(10**9)}", question, mahjong_final(meta), meta
        )


# ----------------------------------------------------------------------------- Statistical Counting

_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5}
_RULE = re.compile(r"If there are (\w+) or more consecutive (\w)'s, add (-?\d+) to the total score")


def count_parse(question: str) -> dict[str, Any]:
    m = re.search(r"What is the total score of the string (\S+?)\?", question)
    start = re.search(r"The initial total score is (-?\d+)", question)
    rules = [
        {"letter": letter, "score": int(score), "min_consecutive": _COUNT_WORDS.get(word, 0) or int(word)}
        for word, letter, score in _RULE.findall(question)
    ]
    if not m or not rules:
        raise ValueError("cannot read the string or the rules")
    return {"sequence": m.group(1), "rules": rules, "initial": int(start.group(1)) if start else 0}


def count_score(meta: dict[str, Any]) -> int:
    """Each maximal run of a letter at least min_consecutive long scores once."""
    total = meta.get("initial", 0)
    runs = [(m.group(0)[0], len(m.group(0))) for m in re.finditer(r"(.)\1*", meta["sequence"])]
    for rule in meta["rules"]:
        total += rule["score"] * sum(
            1 for ch, n in runs if ch == rule["letter"] and n >= rule["min_consecutive"]
        )
    return total


@register
class StatisticalCounting(SampleFolderTask):
    id = "statistical_counting"
    paper_name = "Statistical Counting"
    split = "seen"
    description = "Score a letter string: each run of a repeated letter adds that letter's score."
    answer_format = "one integer, e.g. <<<5>>>"
    data_dirs = ("statistical_counting_dataset",)
    folder_name_ids = True
    complexities = (1, 2, 3, 4, 5)

    def from_stored(self, sample_id: str, question: str, data: Any) -> Sample:
        return parsed_sample(self.id, sample_id, question, data, count_parse)

    def to_stored(self, sample: Sample) -> Any:
        m = sample.meta
        return {
            "sequence": m["sequence"],
            "rules": m["rules"],
            "solution": sample.solution,
            "complexity": m.get("complexity"),
        }

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        got = _single_int(body)
        if got is None:
            return Verdict(False, "expected one integer")
        want = count_score(sample.meta)
        return Verdict(got == want, f"total score is {want}" + ("" if got == want else f", not {got}"))

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        letters = string.ascii_uppercase[: complexity + 2]
        rules = [{"letter": ch, "score": i + 1, "min_consecutive": 2} for i, ch in enumerate(letters)]
        sequence = "".join(rng.choice(letters) for _ in range(rng.randint(5 * complexity, 13 * complexity)))
        meta = {"sequence": sequence, "rules": rules, "initial": 0, "complexity": complexity}
        names = ", ".join(letters[:-1]) + f" and {letters[-1]}"
        lines = "\n".join(
            f"{i}. If there are two or more consecutive {r['letter']}'s, add {r['score']} to the total score."
            for i, r in enumerate(rules, 1)
        )
        question = (
            f"The initial total score is 0. Given a string consisting of letters {names}, scan from front to back:\n\n"
            f"{lines}\n\nWhat is the total score of the string {sequence}?\n"
            "Return your answer with the format <<<number>>>, like <<<5>>> means the total score is 5."
        )
        return Sample(self.id, f"gen_{complexity}_{rng.randrange(10**9)}", question, count_score(meta), meta)


# -------------------------------------------------------------------- Constrained Linear Arrangement


def _elements(me: str, opp: str) -> str:
    # generation order A(Wood) -> B(Fire) -> C(Earth) -> D(Metal) -> E(Water); overcoming skips one.
    # "card 1" is the player's own card: the dataset's results only decide a round when the player's card
    # generates (loss) or overcomes (win) the opponent's; read both ways, 18 stored questions have no answer.
    step = (ord(opp) - ord(me)) % 5
    return ["draw", "loss", "win", "draw", "draw"][step]


def _animal(me: str, opp: str) -> str:
    if me == opp:
        return "draw"
    if {me, opp} == {"A", "H"}:  # the Mouse captures the Elephant
        return "win" if me == "H" else "loss"
    return "win" if me < opp else "loss"


def _stick(me: str, opp: str) -> str:
    step = (ord(opp) - ord(me)) % 4  # A beats B beats C beats D beats A; two apart is a draw
    return {0: "draw", 1: "win", 2: "draw", 3: "loss"}[step]


GAMES = {"elements": ("ABCDE", _elements), "animal": ("ABCDEFGH", _animal), "stick_game": ("ABCD", _stick)}


def arrangement_parse(question: str) -> dict[str, Any]:
    rounds = re.findall(r"Round \d+: ([A-Z]), (win|loss|draw)\.", question)
    if "Jungle Chess" in question:
        game = "animal"
    elif "Stick, Tiger, Chicken" in question:
        game = "stick_game"
    elif "five-element" in question:
        game = "elements"
    else:
        raise ValueError("unknown game")
    return {"game_type": game, "player_moves": [r[0] for r in rounds], "results": [r[1] for r in rounds]}


@register
class ConstrainedLinearArrangement(SampleFolderTask):
    id = "constrained_linear_arrangement"
    paper_name = "Cons. Linear Arrange."
    split = "seen"
    description = "Deduce the opponent's cards (each used once) from your cards and each round's result."
    answer_format = "a list of letters, e.g. <<<A,B,C>>>"
    data_dirs = ("constrained_linear_arrangement",)
    folder_name_ids = True
    solution_key = "solution"
    complexities = (1, 2, 3, 4, 5)

    def from_stored(self, sample_id: str, question: str, data: Any) -> Sample:
        return parsed_sample(self.id, sample_id, question, data, arrangement_parse)

    def reference_answer(self, sample: Sample) -> str | None:
        return None if sample.solution is None else "<<<" + ",".join(sample.solution) + ">>>"

    def verify(self, sample: Sample, answer_text: str) -> Verdict:
        body = answer_body(answer_text)
        if isinstance(body, Verdict):
            return body
        got = letters_list(body)
        if got is None:
            return Verdict(False, "expected a list of card letters")
        m = sample.meta
        cards, outcome = GAMES[m["game_type"]]
        if len(got) != len(m["player_moves"]):
            return Verdict(False, f"expected {len(m['player_moves'])} cards, got {len(got)}")
        if any(c not in cards for c in got):
            return Verdict(False, f"cards must be among {', '.join(cards)}")
        if len(set(got)) != len(got):
            return Verdict(False, "each card can only be used once")
        for k, (me, opp, res) in enumerate(zip(m["player_moves"], got, m["results"], strict=True), 1):
            if outcome(me, opp) != res:
                return Verdict(False, f"round {k}: {me} against {opp} is a {outcome(me, opp)}, not a {res}")
        return Verdict(True, "consistent with every round, each card used once")

    def generate(self, rng: random.Random, complexity: int) -> Sample:
        game = rng.choice(sorted(GAMES))
        cards, outcome = GAMES[game]
        n = min(len(cards) - 1, complexity + 1)
        mine, theirs = rng.sample(cards, n), rng.sample(cards, n)
        results = [outcome(a, b) for a, b in zip(mine, theirs, strict=True)]
        meta = {"game_type": game, "player_moves": mine, "results": results, "complexity": complexity}
        rounds = "\n".join(
            f"Round {i}: {a}, {r}." for i, (a, r) in enumerate(zip(mine, results, strict=True), 1)
        )
        question = (
            _GAME_TEXT[game]
            + "\n\nAssuming you are one of the players, deduce what cards your opponent played each "
            f"round based on the cards you played and the results of each round.\n\nRounds:\n{rounds}\n\n"
            "Use a list of letters to show your answer. For example, <<<A,B,C>>>."
        )
        return Sample(self.id, f"gen_{complexity}_{rng.randrange(10**9)}", question, theirs, meta)


_GAME_TEXT = {
    "elements": (
        "Both parties, A and B, each have a set of five-element flags, with each person holding five cards "
        "representing Metal, Wood, Water, Fire, and Earth. Each card can only be used once. Both players play their "
        "cards simultaneously without seeing the opponent's card, and the referee announces the result of each "
        "round.\nRules:\n1. When card 1 generates card 2, the holder of card 1 loses;\n2. When card 1 overcomes card "
        "2, the holder of card 1 wins;\n3. When both cards are the same or no card generates or overcomes each "
        "other, it is a draw.\nKnown:\n1. Generation: Wood A generates Fire B, Fire B generates Earth C, Earth C "
        "generates Metal D, Metal D generates Water E, Water E generates Wood A.\n2. Overcoming: Wood A overcomes "
        "Earth C, Earth C overcomes Water E, Water E overcomes Fire B, Fire B overcomes Metal D, Metal D overcomes "
        "Wood A."
    ),
    "animal": (
        "Both parties, A and B, play a game similar to Jungle Chess. Each player has 8 animal pieces, ranked from "
        "largest to smallest: Elephant (A), Lion (B), Tiger (C), Leopard (D), Wolf (E), Dog (F), Cat (G), and "
        "Mouse (H). Both players reveal their pieces simultaneously, but cannot see the opponent's piece. The "
        "referee announces the result of the match.\n\nRules:\n1. The goal for both players is to reach the "
        "opponent's den in 5 steps. The first to accumulate 5 steps wins.\n2. When a smaller piece encounters a "
        "larger piece, the smaller piece is captured, and the player with the larger piece wins.\n3. Mutual "
        "capture: When pieces of the same type encounter each other, they mutually capture and the result is a "
        "draw.\n4. Mouse captures Elephant: Apart from the size hierarchy, the Mouse can capture the Elephant, but "
        "the Elephant cannot capture the Mouse.\n5. Each piece can only be used once."
    ),
    "stick_game": (
        'Both parties, A and B, are playing a game called "Stick, Tiger, Chicken." Each person has four cards: '
        "Stick (A), Tiger (B), Chicken (C), and Worm (D). Each card can only be used once. Both players play their "
        "cards simultaneously without seeing the other's card, and a referee announces the result of each round.\n\n"
        "Rules:\n1. Stick beats Tiger, Tiger eats Chicken, Chicken eats Worm, Worm beats Stick, and so on in a "
        "cycle.\n2. If both players play the same card or cards that are one step apart in the cycle, it is "
        "considered a draw."
    ),
}
