"""The policy layer alone: what it admits, what it rejects, and that messages name the rule."""

from __future__ import annotations

import pytest

from csteer.sandbox import policy
from csteer.sandbox.guards import PolicyViolation, Recorder, Runtime

REJECTED = [
    ("().__class__.__base__.__subclasses__()", "dunder-attribute"),
    ("f = lambda: 0\nf.__globals__", "dunder-attribute"),
    ("g = (i for i in [1])\ng.gi_frame", "inspect-attribute"),
    ("import sys\nsys._getframe().f_back", "inspect-attribute"),
    ("__builtins__", "dunder-name"),
    ("__import__('os')", "dunder-name"),
    ("import os", "import-allowlist"),
    ("from subprocess import run", "import-allowlist"),
    ("from . import x", "import-allowlist"),
    ("import importlib", "import-allowlist"),
    ("compile('1', 'x', 'eval')", "no-exec"),
    ("class A(metaclass=type): pass", "metaclass"),
    ("_getattr_ = getattr", "reserved-name"),
    ("__name__ = 'x'", "dunder-name"),
    ("class A:\n    def __getattribute__(self, n): return 1", "dunder-name"),
    ("class A:\n    def __reduce__(self): return 1", "dunder-name"),
    ("x.__dict__", "dunder-attribute"),
]


@pytest.mark.parametrize(("code", "rule"), REJECTED)
def test_rejected_with_rule_name(code: str, rule: str) -> None:
    report = policy.check(code)
    assert not report.ok
    assert f"(rule: {rule})" in report.message()


ADMITTED = [
    "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int = 0\n    y: float = 1.0",
    "class C:\n    def __init__(self):\n        self.count = 0\n    def inc(self):\n        self.count += 1",
    "d = {}\nd['k'] = 0\nd['k'] += 1\na = [[0]]\na[0][0] *= 3",
    "if __name__ == '__main__':\n    print('x')",
    "try:\n    1 / 0\nexcept Exception as e:\n    print(type(e).__name__, e.__class__.__name__)\nfinally:\n    pass",
    "print(f'{1 + 1:>4}', [x for x in range(3)], {k: k for k in 'ab'}, (y for y in ()))",
    "n = 0\ndef f():\n    global n\n    n += 1",
    "def outer():\n    v = 0\n    def inner():\n        nonlocal v\n        v += 1",
    "f = lambda *a, **k: (a, k)\nf(*[1], **{'z': 2})",
    "import math, itertools, functools, collections, heapq, bisect, numpy, sympy, re, json",
    "from __future__ import annotations\nfrom typing import List\ndef f(x: List[int]) -> int:\n    return len(x)",
    "print(eval('1 + 2'))",
    "_cache = {}\ndef _helper(_x):\n    return _x",
    "class V:\n    def __add__(self, o): return self\n    def __eq__(self, o): return True\n    def __hash__(self): return 1\n    def __lt__(self, o): return False",
    "x = 5\nwhile (y := x - 1) > 0:\n    x = y",
    "with open('f.txt', 'w') as fh:\n    fh.write('x')",
]


@pytest.mark.parametrize("code", ADMITTED)
def test_admitted(code: str) -> None:
    report = policy.check(code)
    assert report.ok, report.message()


def test_stock_restrictedpython_rejects_some_of_these() -> None:
    # The reason this policy exists: the stock one refuses ordinary solution code.
    from RestrictedPython import compile_restricted_exec

    refused = [code for code in ADMITTED if compile_restricted_exec(code).errors]
    assert len(refused) >= 5


def test_custom_allowlist() -> None:
    assert policy.check("import numpy", allowed_imports={"math"}).message().count("import-allowlist") == 1
    assert policy.check("import math", allowed_imports={"math"}).ok


def _run(code: str) -> dict:
    runtime = Runtime()
    ns = runtime.namespace()
    exec(policy.compile_solution(code), ns)
    return ns


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("getattr(getattr((), '__cla' + 'ss__'), '__ba' + 'se__')", "dunder-attribute"),
        ("getattr(object, '__subcl' + 'asses__')", "dunder-attribute"),
        ("import random\nrandom._os", "module-private"),
        ("'{0.__class__}'.format(1)", "format-attribute"),
        ("eval(\"__import__('os')\")", "dunder-name"),
        ("open('/etc/passwd')", "open-path"),
        ("import json\nvars(json)", "dunder-attribute"),
        ("import collections\ngetattr(collections, '__di' + 'ct__')", "dunder-attribute"),
        ("setattr(object, '__init_sub' + 'class__', 1)", "dunder-attribute"),
    ],
)
def test_runtime_guards(code: str, rule: str) -> None:
    Recorder.first = None
    with pytest.raises(PolicyViolation, match=rf"rule: {rule}"):
        _run(code)
    Recorder.first = None


def test_runtime_keeps_normal_behaviour() -> None:
    ns = _run(
        "import math\nimport sys\nx = getattr(math, 'pi')\ny = '{:.2f}'.format(x)\nz = hasattr(sys, 'modules')"
    )
    assert ns["y"] == "3.14"
    assert ns["z"] is False  # the curated sys has no modules table
