"""The library side of `csteer ask`: resolve models, build the loop, run it, log it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from csteer.runtime import prompts
from csteer.engines import EngineOptions, create_engine, parse_spec
from csteer.engines.base import Engine
from csteer.runtime.loop import LoopConfig, SteeringLoop
from csteer.runtime.record import Run
from csteer.sandbox import Limits, Sandbox


@dataclass
class AskRequest:
    question: str
    model: str = "embedded"
    coach: str = "embedded"
    policy: str = "codesteer"
    max_turns: int = 5
    temperature: float = 0.0
    seed: int | None = None
    task_kind: str | None = None
    coach_kind: str | None = None
    profile: str | None = None
    symbolic_check: bool = True
    self_check: bool = True
    code_timeout: float = 10.0
    n_ctx: int = 8192
    threads: int | None = None
    gpu_layers: int | None = None
    log: bool = True


def build_engine(
    spec_text: str, kind: str | None, options: EngineOptions, notify: Callable[[str], None] | None
) -> Engine:
    spec = parse_spec(spec_text, notify=notify)
    return create_engine(spec, options, kind=kind)


def coach_profile(spec_text: str, coach: Engine, requested: str | None) -> prompts.CoachProfile:
    if requested:
        return prompts.PROFILES[requested]
    from csteer.models.catalog import CATALOG

    entry = CATALOG.get(spec_text)
    if entry is not None and entry.coach_profile in prompts.PROFILES:
        return prompts.PROFILES[entry.coach_profile]
    return prompts.PROFILES["base-fewshot" if coach.kind == "base" else "self"]


def answer_question(
    request: AskRequest,
    trace: Callable[[str], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> Run:
    options = EngineOptions(n_ctx=request.n_ctx, threads=request.threads, gpu_layers=request.gpu_layers)
    task = build_engine(request.model, request.task_kind, options, notify)
    coach = None
    profile = None
    if request.policy == "codesteer":
        coach = build_engine(request.coach, request.coach_kind, options, notify)
        profile = coach_profile(request.coach, coach, request.profile)
    elif request.policy == "self" and request.profile:
        profile = prompts.PROFILES[request.profile]
    config = LoopConfig(
        policy=request.policy,
        max_turns=request.max_turns,
        symbolic_check=request.symbolic_check,
        self_check=request.self_check,
        temperature=request.temperature,
        seed=request.seed,
    )
    sandbox = Sandbox(Limits(timeout_s=request.code_timeout, cpu_s=max(1, int(request.code_timeout) + 1)))
    loop = SteeringLoop(task, coach, sandbox, config, profile=profile, trace=trace)
    run = loop.run(request.question)
    if request.log:
        _log(run, notify)
    return run


def _log(run: Run, notify: Callable[[str], None] | None) -> None:
    """Append to the run log; a broken log must not cost the user the answer."""
    try:
        from csteer.runlog import log_run
    except ImportError:
        return
    record = run.to_dict()
    record.update(
        coach_model=run.coach_model,
        exit_status=0 if run.answer is not None else 3,
    )
    try:
        log_run(record)
    except Exception as err:  # noqa: BLE001 - logging is best effort by design
        if notify:
            notify(f"csteer: warning: could not write the run log: {err}")
