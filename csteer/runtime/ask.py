"""The library side of `csteer ask`: build the loop, run one question, log it."""

from __future__ import annotations

import time

from csteer.engines.base import Notify
from csteer.runtime.assemble import build_loop
from csteer.runtime.loop import TraceFn
from csteer.runtime.record import Run
from csteer.runtime.settings import RunSettings


def answer_question(
    question: str,
    settings: RunSettings | None = None,
    *,
    trace: TraceFn | None = None,
    notify: Notify | None = None,
    log: bool = True,
) -> Run:
    """Answer `question` with a steered task model; the run is appended to the run log unless `log` is off."""
    started = time.perf_counter()
    loop = build_loop(settings or RunSettings(), notify, trace)
    load_s = time.perf_counter() - started  # model load and sandbox setup; not part of run.seconds
    run = loop.run(question)
    run.phases = {"load": round(load_s, 3), **run.phases}
    if log:
        _log(run, notify)
    return run


def _log(run: Run, notify: Notify | None) -> None:
    """Append to the run log; a broken log must not cost the user the answer."""
    try:
        from csteer.runlog import log_run
    except ImportError:
        return
    record = run.to_dict()
    record.update(
        coach_model=run.coach_model,
        exit_status=0 if run.answer is not None else 3,
    )
    try:
        log_run(record)
    except Exception as err:  # noqa: BLE001 - logging is best effort by design
        if notify:
            notify(f"csteer: warning: could not write the run log: {err}")
