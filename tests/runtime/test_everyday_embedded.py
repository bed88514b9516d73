"""The embedded default on a sample of the everyday question set, in-process with the real Gemma 3 270M
(the whole set is the `everyday` benchmark): the questions a newcomer asks first are answered right."""

from __future__ import annotations

from pathlib import Path

import pytest

from csteer.bench.everyday import correct, load

pytestmark = pytest.mark.slow

EVERYDAY = Path(__file__).resolve().parents[1] / "data" / "everyday.jsonl"
# the five questions of issue 19's table and one of each other shape the default must handle
SAMPLE = ["arith-small", "count-r", "sort-nums", "fact-capital-fr", "prime-sum", "arith-5x5"]
AT_LEAST = 5  # measured 5 of 6 (the sum of primes below 100 is beyond the 270M model's programs)


def test_a_sample_of_everyday_questions(csteer_home: Path) -> None:
    from csteer.runtime.assemble import Assembly
    from csteer.runtime.settings import RunSettings

    questions = {q.id: q for q in load(EVERYDAY)}
    assembly = Assembly(RunSettings(seed=0, threads=2), notify=lambda _m: None)
    results = {}
    for qid in SAMPLE:
        run = assembly.loop().run(questions[qid].question)
        results[qid] = (run.answer, correct(run.answer, questions[qid].answer))
        # a returned answer passed the evidence gate; nothing failed is returned while turns were left
        if run.stop_reason == "return_answer":
            assert run.turns[-1].withheld is None and run.turns[-1].answer is not None
    assert sum(ok for _, ok in results.values()) >= AT_LEAST, results
    assert results["fact-capital-fr"][1], results  # a text question gets a text answer, not exit 3
