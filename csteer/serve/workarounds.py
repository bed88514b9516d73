"""Work-arounds for engine bugs that a long-lived server meets and a one-shot `csteer ask` rarely does.
Each names the bug; drop it when the engine is fixed (tests/serve keeps the server honest either way).
"""

from __future__ import annotations

from typing import Any


class _TolerantSlots(list[Any]):
    """LlamaCppEngine._prepare_context saves the live conversation (which may evict the oldest saved
    slot, `del self._slots[:-MAX_SLOTS]`) before it removes the slot it is about to restore; when that
    slot was the evicted one, `list.remove` raised ValueError mid-run. The slot object is still whole (the
    caller holds it), so the right outcome of removing an already evicted slot is: nothing."""

    def remove(self, value: Any) -> None:
        try:
            super().remove(value)
        except ValueError:
            pass


def patch_engine(engine: Any) -> None:
    """Apply the work-arounds that fit `engine` (an in-process llama.cpp engine keeps a slot list)."""
    slots = getattr(engine, "_slots", None)
    if type(slots) is list:
        engine._slots = _TolerantSlots(slots)
