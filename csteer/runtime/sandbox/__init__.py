"""Run untrusted (model-written) Python code.

Interface used by the loop, the checkers and the bench:

    Sandbox(Limits(...)).run(code, stdin=None) -> Result

This first implementation is a plain isolated runner (``python -I`` in a fresh temp dir, scrubbed
environment, wall-clock timeout that kills the process group, capped output). The hardened sandbox
(policy layer, namespaces, rlimits, warm pool) replaces the internals behind the same interface.
"""

from __future__ import annotations

from csteer.runtime.sandbox.types import Limits, Result, Status
from csteer.runtime.sandbox.runner import Sandbox

__all__ = ["Limits", "Result", "Sandbox", "Status"]
