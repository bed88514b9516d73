"""Coach profiles as data: the texts, layout and switches of a trained interface, read from a JSON file.

The `codesteer-v1` profile ships as csteer/data/profiles/codesteer-v1.json: every string the released
CodeSteer-v1 coach is shown or answered with, the order they are joined in, its sampling, and the
switches that tell the loop to follow the reference (no grammar, raw replies, substring stops, the
reference's feedback framing, the last turn's answer). A profile is read, diffed and replaced without
touching code: `--profile-file PATH` takes such a file, or the reference's own prompt.py (read with `ast`,
csteer.models.trained_prompts), whose constants then replace csteer's wording verbatim.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from csteer.errors import UsageError

CSTEER_WORDING = "csteer wording"
TEXT_KEYS = ("choice", "code", "text", "checker")
LAYOUT_KEYS = (
    "coach_first",
    "task_first",
    "review",
    "complexity",
    "execution",
    "execution_errors_only",
    "execution_too_long",
    "timeout",
    "check_request",
    "check_passed",
    "check_failed",
    "check_failed_errors_only",
    "check_no_code",
    "check_too_long",
    "check_off",
)


@dataclass(frozen=True)
class Sampling:
    """A profile's decoding defaults; None: the run's own setting (--temperature, engine defaults)."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class Interface:
    """The exact interface a fine-tuned coach was trained on: texts, how they are laid out, limits."""

    texts: Mapping[str, str] = field(hash=False)
    layout: Mapping[str, str] = field(hash=False)
    trained_names: Mapping[str, str] = field(hash=False)  # text key -> constant name in prompt.py
    limits: Mapping[str, int] = field(hash=False)
    source: str = CSTEER_WORDING  # "csteer wording", or where the trained texts came from

    @property
    def trained(self) -> bool:
        return self.source != CSTEER_WORDING

    def fill(self, key: str, **values: Any) -> str:
        """A layout string with its {names} filled in (values are never re-parsed as templates)."""
        return self.layout[key].format(**values)

    def with_constants(self, constants: Mapping[str, str], source: str) -> Interface:
        """The same interface with the trained constants in place of csteer's wording."""
        missing = [name for name in self.trained_names.values() if name not in constants]
        if missing:
            raise UsageError(f"{source}: no constant {', '.join(missing)} (is it CodeSteer's prompt.py?)")
        texts = {key: constants[name] for key, name in self.trained_names.items()}
        return replace(self, texts={**self.texts, **texts}, source=source)


@dataclass(frozen=True)
class ProfileData:
    name: str
    system: str | None
    grammar: bool
    replies: str  # "reference": substring stops, raw forwarding; "strict": csteer's parser
    feedback: str  # "reference": the reference's framing of execution, checker and summary
    final_answer: str  # "last-turn" or "latest" (the latest turn that has an answer)
    sampling: Sampling
    interface: Interface


def packaged(name: str) -> Path:
    return Path(str(resources.files("csteer").joinpath(f"data/profiles/{name}.json")))


def load(path: Path) -> ProfileData:
    """Read and check a profile data file; a bad one is a one-line UsageError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot read profile file {path}: {err}") from None
    try:
        switches, sampling = data["switches"], data.get("sampling", {})
        texts, layout = data["texts"], data["layout"]
        interface = Interface(
            texts={k: str(texts[k]) for k in TEXT_KEYS},
            layout={k: str(layout[k]) for k in LAYOUT_KEYS},
            trained_names={k: str(v) for k, v in data.get("trained", {}).items() if k in TEXT_KEYS},
            limits={k: int(v) for k, v in data.get("limits", {}).items()},
        )
        profile = ProfileData(
            name=str(data["name"]),
            system=switches.get("system"),
            grammar=bool(switches["grammar"]),
            replies=str(switches["replies"]),
            feedback=str(switches["feedback"]),
            final_answer=str(switches["final_answer"]),
            sampling=Sampling(**sampling),
            interface=interface,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise UsageError(f"profile file {path}: missing or malformed entry {err}") from None
    for key, value, allowed in (
        ("replies", profile.replies, ("reference", "strict")),
        ("feedback", profile.feedback, ("reference", "csteer")),
        ("final_answer", profile.final_answer, ("last-turn", "latest")),
    ):
        if value not in allowed:
            raise UsageError(f"profile file {path}: {key} must be one of {', '.join(allowed)}")
    return profile


def resolve_sampling(
    profile: Sampling,
    *,
    temperature: float | None,
    top_p: float | None,
    top_k: int | None,
    fallback_temperature: float,
) -> Sampling:
    """The coach's sampling for a run: the coach-only settings, else the profile's defaults, else the
    run's --temperature (and the engine's own top_p / top_k)."""
    return Sampling(
        temperature=next(
            t for t in (temperature, profile.temperature, fallback_temperature) if t is not None
        ),
        top_p=top_p if top_p is not None else profile.top_p,
        top_k=top_k if top_k is not None else profile.top_k,
    )
