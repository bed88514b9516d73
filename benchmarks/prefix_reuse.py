"""prefix_reuse: latency of the 3rd coach call of a real steering conversation, without / with KV reuse.

The conversation is the base-model coach transcript csteer builds (few-shot header, question, two
reviews); between coach calls the task model uses the same model instance, as in `csteer ask`.
Goal >= 6 (issue 17; it was 3).
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import interleave, main, result, timed
from benchmarks.models import embedded_path

QUESTION = "A farmer has 17 sheep; all but 9 run away. How many sheep are left? Count carefully."
REVIEWS = [
    ("<<<Code>>>", "Answer: 8 (from program output)\nChecker: Wrong: all but 9 run away means 9 remain"),
    ("<<<Text>>>", "Answer: 9 (from text)\nChecker: Correct"),
]


def measure(quick: bool) -> dict[str, Any]:
    from csteer.engines.base import EngineOptions
    from csteer.engines.llamacpp import LlamaCppEngine
    from csteer.runtime import prompts

    path = str(embedded_path())
    engine = LlamaCppEngine(path, EngineOptions(n_ctx=4096), kind="base")
    options = [" <<<Return Answer>>>", " <<<Code>>>", " <<<Text>>>", " <<<Terminate>>>"]
    task_prompt = prompts.task_transcript(QUESTION, [], prompts.TEXT_PROMPT)

    def conversation(third_call_reuse: bool) -> float:
        engine.llm.reset()
        engine._slots.clear()
        # calls 1 and 2 of the coach, with task-model calls in between (they share the context)
        for i in range(2):
            coach = prompts.coach_transcript(QUESTION, REVIEWS[:i], REVIEWS[i][1] if i else None)
            engine.choose([{"role": "user", "content": coach}], options)
            engine.chat([{"role": "user", "content": task_prompt}], max_tokens=8)
        if not third_call_reuse:
            engine.llm.reset()
            engine._slots.clear()
        third = prompts.coach_transcript(QUESTION, REVIEWS[:2], "Answer: 9 (from text)\nChecker: Correct")
        return timed(lambda: engine.choose([{"role": "user", "content": third}], options))

    a, b = interleave(lambda: conversation(False), lambda: conversation(True), reps=3 if quick else 5)
    return result(
        "prefix_reuse", a, b, "s", ">= 6", "no reuse (3rd coach call)", "with reuse (3rd coach call)"
    )


if __name__ == "__main__":
    main(measure)
