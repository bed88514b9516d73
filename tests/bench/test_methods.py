from __future__ import annotations

import pytest

from csteer.bench.methods import expand_methods, parse_method
from csteer.errors import UsageError


def test_plain_methods_keep_both_checkers() -> None:
    method = parse_method("codesteer")
    assert (method.policy, method.symbolic_check, method.self_check) == ("codesteer", True, True)
    assert method.needs_coach and method.paper_column == "gpt4o_codesteer"
    assert not parse_method("self").needs_coach  # the task model coaches itself
    assert parse_method("code-first-rule").paper_column is None


def test_ablation_suffixes_in_either_order_name_one_variant() -> None:
    a = parse_method("codesteer-no-self-check-no-symbolic-check")
    b = parse_method("codesteer-no-symbolic-check-no-self-check")
    assert a == b
    assert a.name == "codesteer-no-symbolic-check-no-self-check"
    assert not a.symbolic_check and not a.self_check and a.paper_column is None


def test_ablate_adds_variants_of_steered_methods_only() -> None:
    names = [m.name for m in expand_methods("all-code,codesteer,self", "symbolic-check,self-check")]
    assert names == [
        "all-code",
        "codesteer",
        "self",
        "codesteer-no-symbolic-check",
        "self-no-symbolic-check",
        "codesteer-no-self-check",
        "self-no-self-check",
    ]
    assert [m.name for m in expand_methods("all-code, all-code")] == ["all-code"]


@pytest.mark.parametrize(
    ("methods", "ablate", "message"),
    [
        ("codesteer,magic", None, "unknown method 'magic'"),
        ("all-code-no-self-check", None, "only codesteer and self"),
        ("all-code", "self-check", "needs a steered method"),
        ("codesteer", "dpo", "unknown ablation 'dpo'"),
        (",", None, "names no method"),
    ],
)
def test_bad_methods_are_usage_errors(methods: str, ablate: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        expand_methods(methods, ablate)
