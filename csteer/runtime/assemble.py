"""The one place that assembles a run: model specs -> engines, coach profile, sandbox -> SteeringLoop.

`build_loop(settings)` is what `csteer ask` (and any library caller) uses. A caller that runs many
questions with variants of one setting (`csteer bench`, `csteer serve`) builds an `Assembly` once and
asks it for a loop per question: models load once and the sandbox pool stays warm.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from csteer.engines.base import Engine, EngineOptions, Notify
from csteer.engines.spec import EngineSpec, create_engine
from csteer.engines.threads import choose_threads
from csteer.errors import UsageError
from csteer.models.resolve import resolve
from csteer.runtime import profile_data, prompts
from csteer.runtime.loop import SteeringLoop, TraceFn
from csteer.runtime.settings import DEFAULT_CANDIDATES, RunSettings
from csteer.sandbox import Sandbox

TRAINED = "codesteer-v1"
_said: set[str] = set()  # notices given once per process


def _once(notify: Notify | None, message: str) -> None:
    if notify is not None and message not in _said:
        _said.add(message)
        notify(message)


def names_codesteer(spec: EngineSpec | None, name: str) -> str | None:
    """What names the coach as CodeSteer (its store entry, GGUF `general.name`, file or model name), or
    None: such a coach gets the trained profile without being asked."""
    found: list[tuple[str, str]] = [("model name", name)]
    if spec is not None:
        found.append(("path", spec.target))
        if spec.catalog_name:
            from csteer.models.registry import lookup

            entry = lookup(spec.catalog_name)
            if entry is not None:
                found.append(("store entry", f"{entry.name} {entry.source}"))
        if spec.engine == "gguf":
            from csteer.models.formats import FormatError, check_format

            try:
                found.append(
                    ("GGUF general.name", str(check_format(Path(spec.target), "gguf").details["name"]))
                )
            except (FormatError, OSError, KeyError):
                pass
    return next((f"its {where}" for where, text in found if "codesteer" in text.lower()), None)


def read_profile_file(path: str) -> tuple[prompts.CoachProfile | None, dict[str, str] | None]:
    """`--profile-file`: a profile data file (the whole profile), or the reference's prompt.py (its
    string constants, read with `ast`, become the trained profile's texts)."""
    file = Path(path).expanduser()
    if file.suffix == ".py":
        from csteer.models.trained_prompts import parse_constants

        try:
            source = file.read_text(encoding="utf-8")
        except OSError as err:
            raise UsageError(f"cannot read --profile-file {path}: {err.strerror}") from None
        return None, parse_constants(source, str(file))
    return prompts.profile_from_data(profile_data.load(file)), None


def with_trained_texts(
    profile: prompts.CoachProfile, constants: dict[str, str] | None, origin: str, notify: Notify | None
) -> prompts.CoachProfile:
    """A trained-interface profile with the exact trained texts when they are at hand (a prompt.py given
    with --profile-file, else the one `csteer models pull codesteer-v1` stored); else csteer's wording,
    said once."""
    if profile.interface is None or profile.interface.trained:
        return profile
    if constants is None:
        from csteer.models.trained_prompts import load_stored, stored_path

        record = load_stored()
        if record is not None:
            constants, origin = record["constants"], f"trained prompt.py ({stored_path()})"
    if constants is None:
        _once(
            notify,
            f"csteer: note: the {profile.name} profile uses csteer's own wording (not the trained texts); "
            f"`csteer models pull codesteer-v1` or --profile-file prompt.py fetches or gives them",
        )
        return profile
    return replace(profile, interface=profile.interface.with_constants(constants, origin))


def coach_profile(
    requested: str | None,
    spec: EngineSpec | None,
    coach: Engine,
    profile_file: str | None = None,
    notify: Notify | None = None,
) -> prompts.CoachProfile:
    """The coach's prompt profile, chosen here only: the one asked for (--profile, or a profile data file),
    else the one its catalog entry was trained on, else codesteer-v1 for a coach that names CodeSteer,
    else by prompt style (few-shot for base models, self-steering for instruct ones), with a notice."""
    return choose_profile(requested, spec, coach.name, coach.kind, profile_file, notify)


def choose_profile(
    requested: str | None,
    spec: EngineSpec | None,
    name: str,
    kind: str | None,
    profile_file: str | None = None,
    notify: Notify | None = None,
) -> prompts.CoachProfile:
    """coach_profile for a coach known by its spec, name and kind, loaded or not (`csteer models info`)."""
    custom, constants = read_profile_file(profile_file) if profile_file else (None, None)
    origin = f"trained prompt.py ({profile_file})"
    if requested:
        profile = prompts.PROFILES[requested]
    elif custom is not None:
        profile = custom
    else:
        from csteer.models.catalog import CATALOG

        entry = CATALOG.get(spec.catalog_name) if spec is not None and spec.catalog_name else None
        if entry is not None and entry.coach_profile in prompts.PROFILES:
            profile = prompts.PROFILES[entry.coach_profile]
        elif names_codesteer(spec, name) is not None or constants is not None:
            profile = prompts.PROFILES[TRAINED]
        else:  # as loop.default_profile: few-shot for base models, self-steering for the others
            profile = prompts.PROFILES["base-fewshot" if kind == "base" else "self"]
            _once(
                notify,
                f"csteer: coach {name} gets the {profile.name!r} profile (nothing names it CodeSteer; "
                f"--profile {TRAINED} drives it as the trained coach)",
            )
    return with_trained_texts(profile, constants, origin, notify)


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
        self.coach: Engine | None = None
        self.coach_spec: EngineSpec | None = None
        self.profile: prompts.CoachProfile | None = None
        self.sandbox = Sandbox(settings.limits())
        # the jail probe and warm pool start in the background while the models load; a local model's
        # thread count counts idle cores, so it is chosen first (the warm-up keeps a core busy)
        if self.task_spec.is_local:
            options = self._with_threads(options)
            self.sandbox.prepare()
        self.task = create_engine(self.task_spec, options, kind=settings.task_kind)
        if settings.policy_def.needs_coach_model if coach_needed is None else coach_needed:
            self.coach_spec = resolve(settings.coach, notify)
            if self.coach_spec.is_local:
                options = self._with_threads(options)
            self.coach = create_engine(self.coach_spec, options, kind=settings.coach_kind)
            self.profile = coach_profile(
                settings.profile, self.coach_spec, self.coach, settings.profile_file, options.notify
            )
        self._notify = options.notify
        if not self.task_spec.is_local:
            self.sandbox.prepare()  # after the local coach's thread choice, if there is one

    @staticmethod
    def _with_threads(options: EngineOptions) -> EngineOptions:
        return options if options.threads is not None else replace(options, threads=choose_threads())

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
            if profile is not None:
                profile = with_trained_texts(profile, None, "", self._notify)
        else:
            coach, profile = None, None
        if settings.candidates is None:
            # sample and vote where it is cheap (a steered, local task model), and not under a trained
            # interface, whose coach learned from one reply per turn
            vote = (
                policy.steered and self.task_spec.is_local and (profile is None or profile.interface is None)
            )
            settings = settings.with_changes(candidates=DEFAULT_CANDIDATES if vote else 1)
        return SteeringLoop(self.task, coach, self.sandbox, settings, profile=profile, trace=trace)


def build_loop(
    settings: RunSettings, notify: Notify | None = None, trace: TraceFn | None = None
) -> SteeringLoop:
    """The steering loop for one setting: resolve the models, load them, pick the profile, open a sandbox."""
    return Assembly(settings, notify).loop(trace=trace)
