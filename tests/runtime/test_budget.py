"""The prompt budget: old turns and long outputs are trimmed instead of overflowing the context."""

from csteer.runtime import prompts
from csteer.runtime.sessions import OMITTED, clip, fit_messages


def _conversation(turns: int, size: int) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "QUESTION"}]
    for i in range(turns):
        messages.append({"role": "assistant", "content": f"answer {i} " + "x" * size})
        messages.append({"role": "user", "content": f"review {i} " + "y" * size})
    return messages


def test_fits_untouched_when_small() -> None:
    messages = _conversation(2, 10)
    assert fit_messages(messages, 10_000) == messages


def test_drops_oldest_turns_keeps_system_question_and_latest() -> None:
    messages = _conversation(6, 1000)
    fitted = fit_messages(messages, 4500)
    assert sum(len(m["content"]) for m in fitted) <= 4500 + len(OMITTED)
    assert fitted[0]["content"] == "sys" and fitted[1]["content"].startswith("QUESTION")
    assert fitted[-1] == messages[-1]
    assert OMITTED in fitted[1]["content"]
    assert len(fitted) < len(messages)
    # roles still alternate after the cut (chat templates insist on it)
    roles = [m["role"] for m in fitted[1:]]
    assert all(a != b for a, b in zip(roles, roles[1:]))


def test_clip_keeps_head_and_tail() -> None:
    text = "HEAD" + "m" * 10_000 + "TAIL"
    out = clip(text, 300)
    assert out.startswith("HEAD") and out.endswith("TAIL") and "characters cut" in out
    assert len(out) < 400


def test_base_task_transcript_grows_by_turns() -> None:
    one = prompts.task_transcript("Q?", [], "G1")
    two = prompts.task_transcript("Q?", [("G1", "R1")], "G2")
    assert two.startswith(one[: one.rindex("Guidance: G1")])  # a growing prefix: KV reuse applies
    assert two.count("Question: Q?") == 1
