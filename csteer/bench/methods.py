"""Bench methods: a steering policy plus the checker switches the paper ablates (Table 4).

A method name is a policy (`codesteer`, `self`, `only-question`, `all-text`, `all-code`,
`code-first-rule`), optionally followed by `-no-symbolic-check` and/or `-no-self-check`; the checkers
only exist in the steered policies, so only those take ablation suffixes.
"""

from __future__ import annotations

from dataclasses import dataclass

from csteer.errors import UsageError
from csteer.runtime.policies import POLICIES, POLICY_NAMES

STEERED = tuple(name for name, policy in POLICIES.items() if policy.steered)  # those have checkers
ABLATIONS = ("symbolic-check", "self-check")

# Table 1 column (csteer/symbench/paper.py METHODS) closest to each of our methods, with GPT-4o as task model.
PAPER_COLUMN: dict[str, str] = {
    "codesteer": "gpt4o_codesteer",
    "self": "symbolic_agent",
    "only-question": "gpt4o_only_question",
    "all-text": "all_text_cot",
    "all-code": "all_code_cot",
}


@dataclass(frozen=True)
class Method:
    name: str
    policy: str
    symbolic_check: bool = True
    self_check: bool = True

    @property
    def needs_coach(self) -> bool:
        return POLICIES[self.policy].needs_coach_model

    @property
    def paper_column(self) -> str | None:
        """The Table 1 column to print beside this method; ablated variants have none."""
        if self.symbolic_check and self.self_check:
            return PAPER_COLUMN.get(self.policy)
        return None


def parse_method(name: str) -> Method:
    text = name.strip()
    off: set[str] = set()
    stripped = True
    while stripped:  # suffixes may come in either order: codesteer-no-self-check-no-symbolic-check
        stripped = False
        for ablation in ABLATIONS:
            suffix = f"-no-{ablation}"
            if text.endswith(suffix):
                off.add(ablation)
                text = text[: -len(suffix)]
                stripped = True
    if text not in POLICIES:
        raise UsageError(
            f"unknown method {name!r}; choose from {', '.join(POLICY_NAMES)} (plus ablation suffixes)"
        )
    if off and text not in STEERED:
        raise UsageError(f"method {name!r}: only {' and '.join(STEERED)} have checkers to ablate")
    return Method(
        name=_name(text, off),
        policy=text,
        symbolic_check="symbolic-check" not in off,
        self_check="self-check" not in off,
    )


def _name(policy: str, off: set[str]) -> str:
    return policy + "".join(f"-no-{a}" for a in ABLATIONS if a in off)


def parse_ablations(text: str | None) -> list[str]:
    if not text:
        return []
    items = [a.strip() for a in text.split(",") if a.strip()]
    for item in items:
        if item not in ABLATIONS:
            raise UsageError(f"unknown ablation {item!r}; choose from {', '.join(ABLATIONS)}")
    return list(dict.fromkeys(items))


def expand_methods(method_list: str, ablate: str | None = None) -> list[Method]:
    """Methods named in `method_list` (comma separated), then one ablated variant per steered method and
    ablation: `--method codesteer --ablate symbolic-check` -> codesteer, codesteer-no-symbolic-check."""
    names = [m for m in (method_list or "").split(",") if m.strip()]
    if not names:
        raise UsageError("--method names no method")
    methods = [parse_method(n) for n in names]
    for ablation in parse_ablations(ablate):
        steered = [m for m in methods if m.policy in STEERED and m.symbolic_check and m.self_check]
        if not steered:
            raise UsageError(
                f"--ablate {ablation} needs a steered method ({' or '.join(STEERED)}) in --method"
            )
        methods += [parse_method(f"{m.policy}-no-{ablation}") for m in steered]
    unique: dict[str, Method] = {}
    for method in methods:
        unique.setdefault(method.name, method)
    return list(unique.values())
