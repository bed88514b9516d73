"""csteer as a model of Simon Willison's `llm` (entry point group `llm` in pyproject.toml).

    llm -m csteer "How many r's are in strawberry?"          # the codesteer policy
    llm -m csteer-all-code -o max_turns 3 "What is 2**40?"   # csteer-POLICY for every policy
    llm -m csteer -o coach gguf:/models/coach.gguf -o model openai:gpt-4o "..."
    llm -m csteer -o server http://127.0.0.1:8765 "..."     # a running csteer serve (else tried at its
                                                             # default address, then in-process)

The reply is the steered run's final answer; the whole run record (turns, code, checks, tokens) is the
response's JSON, so `llm logs --json` shows it. Earlier turns of an `llm` conversation and the system
prompt become context the same way `csteer serve` renders them. Only `llm` itself is imported at load
time; csteer's runtime and models load on the first prompt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import llm
from pydantic import Field

from csteer.serve.openai_shapes import RequestError, question_of

POLICIES = ("codesteer", "self", "only-question", "all-text", "all-code", "code-first-rule")  # tested
_assemblies: dict[tuple[Any, ...], Any] = {}  # in-process: models load once per llm process


@llm.hookimpl
def register_models(register: Any) -> None:
    register(CsteerModel("csteer", "codesteer"))
    for policy in POLICIES:
        register(CsteerModel(f"csteer-{policy}", policy))


class CsteerModel(llm.Model):
    can_stream = False

    class Options(llm.Options):
        max_turns: int | None = Field(None, description="Review turns after the first answer (default 5)")
        model: str | None = Field(None, description="Task model spec (default: csteer models default)")
        coach: str | None = Field(None, description="Steering model spec (default: csteer models default)")
        temperature: float | None = Field(None, description="Sampling temperature of both models")
        seed: int | None = Field(None, description="Sampling seed")
        server: str | None = Field(None, description="URL of a csteer serve to ask (default: tried)")
        in_process: bool | None = Field(None, description="Never use a csteer serve")

    def __init__(self, model_id: str, policy: str) -> None:
        self.model_id = model_id
        self.policy = policy

    def __str__(self) -> str:
        return f"csteer: {self.model_id}"

    def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Iterator[str]:
        from csteer.errors import CsteerError

        try:
            question = question_of(_messages(prompt, conversation))
            record = self._run(question, prompt.options)
        except (CsteerError, RequestError) as err:
            raise llm.ModelError(f"csteer: {err}") from None
        response.response_json = record
        task, coach = int(record.get("task_tokens") or 0), int(record.get("coach_tokens") or 0)
        response.set_usage(output=task + coach, details={"task_tokens": task, "coach_tokens": coach})
        if record.get("answer") is None:
            turns = len(record.get("turns") or ())
            raise llm.ModelError(
                f"csteer: no answer after {turns} turn(s) (stop: {record.get('stop_reason')})"
            )
        yield str(record["answer"])

    def _run(self, question: str, options: Any) -> dict[str, Any]:
        from csteer.models.defaults import current
        from csteer.runtime.settings import RunSettings

        changes = {
            name: getattr(options, name)
            for name in ("max_turns", "model", "coach", "temperature", "seed")
            if getattr(options, name) is not None
        }
        for role in ("model", "coach"):  # as `csteer ask`: $CSTEER_MODEL, the stored default, embedded
            changes.setdefault(role, current(role).spec)
        settings = RunSettings(policy=self.policy, **changes)
        if not options.in_process:
            from csteer.serve.client import warm_run

            record = warm_run(question, settings, server=options.server)
            if record is not None:
                return record
        return _in_process(question, settings)


def _in_process(question: str, settings: Any) -> dict[str, Any]:
    """One run with models kept for the life of this process; logged to csteer's run log as well."""
    from csteer.runtime.assemble import Assembly
    from csteer.serve.openai_shapes import LOAD_SETTINGS

    key = tuple(getattr(settings, name, None) for name in LOAD_SETTINGS)
    if key not in _assemblies:
        _assemblies[key] = Assembly(settings, coach_needed=True)
    run = _assemblies[key].loop(settings).run(question)
    record: dict[str, Any] = run.to_dict()
    try:
        from csteer.runlog import log_run

        log_run({**record, "exit_status": 0 if run.answer is not None else 3, "via": "llm"})
    except Exception:  # noqa: BLE001 - the run log is best effort; llm keeps its own
        pass
    return record


def _messages(prompt: Any, conversation: Any) -> list[dict[str, str]]:
    messages = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    for earlier in getattr(conversation, "responses", None) or ():
        messages.append({"role": "user", "content": earlier.prompt.prompt or ""})
        messages.append({"role": "assistant", "content": earlier.text_or_raise()})
    messages.append({"role": "user", "content": prompt.prompt or ""})
    return messages
