"""The one place that assembles a run: model specs -> engines, coach profile, sandbox -> SteeringLoop.

`build_loop(settings)` is what `csteer ask` (and any library caller) uses. A caller that runs many
questions with variants of one setting (`csteer bench`, `csteer serve`) builds an `Assembly` once and
asks it for a loop per question: models load once and the sandbox pool stays warm.
"""

from __future__ import annotations

from csteer.engines.base import Engine, Notify
from csteer.engines.spec import EngineSpec, create_engine
from csteer.errors import UsageError
from csteer.models.resolve import resolve
from csteer.runtime import prompts
from csteer.runtime.loop import SteeringLoop, TraceFn, default_profile
from csteer.runtime.settings import RunSettings
from csteer.sandbox import Sandbox


def coach_profile(requested: str | None, catalog_name: str | None, coach: Engine) -> prompts.CoachProfile:
    """The coach's prompt profile: the one asked for, else the one its catalog entry was trained on,
    else by prompt style (few-shot for base models, self-steering for instruct ones)."""
    if requested:
        return prompts.PROFILES[requested]
    from csteer.models.catalog import CATALOG

    entry = CATALOG.get(catalog_name) if catalog_name else None
    if entry is not None and entry.coach_profile in prompts.PROFILES:
        return prompts.PROFILES[entry.coach_profile]
    return default_profile(coach)


class Assembly:
    """The engines, coach profile and sandbox of one setting, built once and shared by its loops.

    `coach_needed=None` builds the coach model only when the settings' policy steers with one; the bench
    passes True when any of its methods needs it.
    """

    def __init__(
        self, settings: RunSettings, notify: Notify | None = None, *, coach_needed: bool | None = None
    ) -> None:
        self.settings = settings
        options = settings.engine_options(notify)
        self.task_spec = resolve(settings.model, notify)
        self.task = create_engine(self.task_spec, options, kind=settings.task_kind)
        self.coach: Engine | None = None
        self.coach_spec: EngineSpec | None = None
        self.profile: prompts.CoachProfile | None = None
        if settings.policy_def.needs_coach_model if coach_needed is None else coach_needed:
            self.coach_spec = resolve(settings.coach, notify)
            self.coach = create_engine(self.coach_spec, options, kind=settings.coach_kind)
            self.profile = coach_profile(settings.profile, self.coach_spec.catalog_name, self.coach)
        self.sandbox = Sandbox(settings.limits())

    @property
    def local_models(self) -> list[str]:
        """Specs of the in-process models (one context each: their questions run one at a time)."""
        specs = [(self.settings.model, self.task_spec), (self.settings.coach, self.coach_spec)]
        return list(dict.fromkeys(text for text, spec in specs if spec is not None and spec.is_local))

    def loop(self, settings: RunSettings | None = None, trace: TraceFn | None = None) -> SteeringLoop:
        """A loop for `settings` (default: the assembly's own), which may differ from the assembly's only
        in what does not change the models or the sandbox: policy, checkers, turns, sampling."""
        settings = settings or self.settings
        policy = settings.policy_def
        if policy.needs_coach_model and self.coach is None:
            raise UsageError(f"policy {policy.name!r} needs a coach model, and none was loaded")
        if policy.coach == "model":
            coach, profile = self.coach, self.profile
        elif policy.coach == "task":  # the task model steers itself; an explicit profile applies to it
            coach = self.task
            profile = prompts.PROFILES[settings.profile] if settings.profile else None
        else:
            coach, profile = None, None
        return SteeringLoop(self.task, coach, self.sandbox, settings, profile=profile, trace=trace)


def build_loop(
    settings: RunSettings, notify: Notify | None = None, trace: TraceFn | None = None
) -> SteeringLoop:
    """The steering loop for one setting: resolve the models, load them, pick the profile, open a sandbox."""
    return Assembly(settings, notify).loop(trace=trace)
