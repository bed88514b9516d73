"""Run untrusted (model-written) Python code.

Interface used by the loop, the checkers and the bench:

    Sandbox(Limits(...)).run(code, stdin=None) -> Result

Layers (see docs/SECURITY.md): a RestrictedPython policy (`policy.py`, `guards.py`: a filter that gives an
early, clear `policy` status) and the OS jail, which is the security boundary (`jail.py`: namespaces,
tmpfs root, uid drop, rlimits; `child.py`: the job processes). `pool.py` keeps a warm worker that forks a
fresh jailed job per run; `probe.py` finds out once which layers work here and warns when one is missing.
"""

from __future__ import annotations

from csteer.sandbox.runner import Sandbox, SandboxError
from csteer.sandbox.types import Limits, Result, Status

__all__ = ["Limits", "Result", "Sandbox", "SandboxError", "Status", "probe_layers"]


def probe_layers() -> list[dict[str, object]]:
    """The containment layers active on this machine: [{"name", "active", "detail"}] (cached probe)."""
    from csteer.sandbox import probe

    return [{"name": n, "active": a, "detail": d} for n, a, d in probe.layers(probe.probe())]
