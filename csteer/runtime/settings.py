"""RunSettings: every setting of one steered run, validated once, here.

The CLI (`csteer ask`, `csteer bench`), the library verbs and `csteer serve` all build one of these;
`build_loop` turns it into a SteeringLoop. Nothing downstream re-checks or copies the values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from csteer.engines.base import EngineOptions, Notify, notify_stderr
from csteer.errors import UsageError
from csteer.runtime.policies import Policy, get_policy
from csteer.sandbox import Limits

KINDS = ("base", "instruct")
MIN_N_CTX = 512
# measured on the everyday set with the embedded model (docs/BENCHMARKS.md, `everyday`)
DEFAULT_CANDIDATES = 5
MAX_CANDIDATES = 16


def sandbox_limits(timeout_s: float, **overrides: Any) -> Limits:
    """The one rule for a generated program's limits. The CPU limit is a backstop one second past the
    wall clock, so a busy loop is reported as a timeout rather than killed by RLIMIT_CPU first."""
    return Limits(timeout_s=timeout_s, cpu_s=max(1, math.floor(timeout_s) + 1), **overrides)


@dataclass(frozen=True)
class RunSettings:
    model: str = "embedded"  # task model spec
    coach: str = "embedded"  # steering model spec (used by policies whose coach is a model)
    policy: str = "codesteer"
    max_turns: int = 5  # review turns after the first answer
    temperature: float = 0.0
    seed: int | None = None
    task_kind: str | None = None  # "base" | "instruct"; None = from the catalog / the model
    coach_kind: str | None = None
    profile: str | None = None  # coach prompt profile; None = from the coach model
    symbolic_check: bool = True
    self_check: bool = True
    code_timeout: float = 10.0  # seconds each generated program may run
    n_ctx: int = 8192
    threads: int | None = None
    gpu_layers: int | None = None
    task_max_tokens: int = 2000  # the reference's task-model limit
    coach_max_tokens: int = 1024
    # the coach's own sampling; None = its profile's (codesteer-v1: T 0.95, top_p 0.7, top_k 50, as
    # trained), else --temperature and the engine's defaults
    coach_temperature: float | None = None
    coach_top_p: float | None = None
    coach_top_k: int | None = None
    profile_file: str | None = None  # a profile data file, or the reference's prompt.py (trained texts)
    # sample and vote: candidate attempts per code/text turn. None = DEFAULT_CANDIDATES for a steered run
    # with a local task model, else 1 (greedy, one draw: what the baselines get unless asked)
    candidates: int | None = None

    def __post_init__(self) -> None:
        from csteer.runtime.prompts import PROFILES

        get_policy(self.policy)
        if self.max_turns < 0:
            raise UsageError(f"--max-turns must be >= 0, got {self.max_turns}")
        if not self.code_timeout > 0:
            raise UsageError("--timeout must be positive")
        if self.n_ctx < MIN_N_CTX:
            raise UsageError(f"--n-ctx must be at least {MIN_N_CTX}")
        if self.temperature < 0:
            raise UsageError(f"--temperature must be >= 0, got {self.temperature}")
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"--threads must be at least 1, got {self.threads}")
        for name, kind in (("--task-kind", self.task_kind), ("--coach-kind", self.coach_kind)):
            if kind is not None and kind not in KINDS:
                raise UsageError(f"{name} must be one of {', '.join(KINDS)}, got {kind!r}")
        if self.profile is not None and self.profile not in PROFILES:
            raise UsageError(f"unknown profile {self.profile!r}; choose from {', '.join(PROFILES)}")
        if self.task_max_tokens < 1 or self.coach_max_tokens < 1:
            raise UsageError("token limits must be positive")
        if self.candidates is not None and not 1 <= self.candidates <= MAX_CANDIDATES:
            raise UsageError(f"--candidates must be between 1 and {MAX_CANDIDATES}, got {self.candidates}")
        if self.coach_temperature is not None and self.coach_temperature < 0:
            raise UsageError(f"--coach-temperature must be >= 0, got {self.coach_temperature}")
        if self.coach_top_p is not None and not 0 < self.coach_top_p <= 1:
            raise UsageError(f"--coach-top-p must be in (0, 1], got {self.coach_top_p}")
        if self.coach_top_k is not None and self.coach_top_k < 0:
            raise UsageError(f"--coach-top-k must be >= 0 (0: no top-k cut), got {self.coach_top_k}")

    @property
    def policy_def(self) -> Policy:
        return get_policy(self.policy)

    def engine_options(self, notify: Notify | None = None) -> EngineOptions:
        return EngineOptions(
            n_ctx=self.n_ctx,
            threads=self.threads,
            gpu_layers=self.gpu_layers,
            notify=notify or notify_stderr,
        )

    def limits(self) -> Limits:
        return sandbox_limits(self.code_timeout)

    def with_changes(self, **changes: Any) -> RunSettings:
        """A copy with some settings changed, validated again (the bench's per-method variants)."""
        return replace(self, **changes)
