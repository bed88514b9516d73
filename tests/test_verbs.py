"""The library verbs of csteer/__init__.py resolve, and importing csteer loads no model library."""

from __future__ import annotations

import subprocess
import sys

import pytest

import csteer


@pytest.mark.parametrize("name", [n for n in csteer.__all__ if n != "__version__"])
def test_every_verb_resolves(name: str) -> None:
    assert callable(getattr(csteer, name))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        csteer.nope  # noqa: B018


def test_import_is_light() -> None:
    code = "import sys, csteer, csteer.runtime.settings; print(sorted(m for m in ('llama_cpp', 'onnxruntime', 'torch', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
