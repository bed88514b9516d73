"""The embedded model for benchmarks, assembled into a throwaway store unless CSTEER_HOME is set."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def embedded_path() -> Path:
    if "CSTEER_HOME" not in os.environ:
        os.environ["CSTEER_HOME"] = os.path.join(tempfile.gettempdir(), "csteer-bench-home")
    from csteer.models.embedded import ensure_embedded

    return ensure_embedded()


# a prompt that makes the base model write on and on (no early end-of-text)
LONG_PROMPT = "Here is a long story about a dragon who learned to count. Once upon a time,"
