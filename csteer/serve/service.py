"""What `csteer serve` runs, without the web part: steering setups, their lanes, one job per request.

A *setup* is one Assembly (engines + sandbox, loaded once) under a model id. A *lane* is the worker
thread(s) and bounded queue its runs go through: one llama.cpp context is not re-entrant, so setups that
share an in-process model share one lane with one worker; a lane whose models are all remote may run
several questions at once. A full lane refuses new work (the app answers 429) instead of queueing it
without bound. A job's run stops at its next step once the job is cancelled (client gone, server
shutting down): the loop's trace callback raises, as `csteer bench` stops its samples.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from csteer import paths
from csteer.engines.base import Notify
from csteer.errors import CsteerError
from csteer.runtime.policies import POLICY_NAMES
from csteer.runtime.record import Run
from csteer.runtime.settings import RunSettings
from csteer.serve.openai_shapes import LOAD_SETTINGS, MODEL_PREFIX, ChatRequest, RequestError


class Cancelled(Exception):
    """Raised inside a run whose job was cancelled; the run ends at its next step."""


class QueueFull(Exception):
    pass


class LoopLike(Protocol):
    def run(self, question: str) -> Run: ...


class AssemblyLike(Protocol):
    """What the service needs of an Assembly (tests pass one built on ScriptedEngines)."""

    settings: RunSettings

    @property
    def local_models(self) -> list[str]: ...

    def loop(
        self, settings: RunSettings | None = None, trace: Callable[[str], None] | None = None
    ) -> Any: ...


def load_settings(settings: RunSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in LOAD_SETTINGS if hasattr(settings, name)}


class Job:
    """One request's run: the future the app awaits and the event that cancels it."""

    def __init__(self, fn: Callable[[threading.Event], Run]) -> None:
        self.fn = fn
        self.cancelled = threading.Event()
        self.future: Future[Run] = Future()
        self.submitted = time.monotonic()

    def cancel(self) -> None:
        self.cancelled.set()

    @property
    def done(self) -> bool:
        return self.future.done()


class Lane:
    """Worker thread(s) and a bounded queue: at most `workers` runs at once and `max_queue` waiting."""

    def __init__(self, name: str, workers: int = 1, max_queue: int = 8) -> None:
        self.name = name
        self.workers = workers
        self.capacity = workers + max_queue
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._load = 0  # jobs queued or running
        self._running = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"csteer-serve-{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[[threading.Event], Run]) -> Job:
        with self._lock:
            if self._load >= self.capacity:
                raise QueueFull(self.name)
            self._load += 1
        job = Job(fn)
        self._jobs.put(job)
        return job

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "running": self._running,
                "waiting": self._load - self._running,
                "capacity": self.capacity,
            }

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                if job.cancelled.is_set() or not job.future.set_running_or_notify_cancel():
                    if not job.future.done():
                        job.future.set_exception(Cancelled())
                    continue
                with self._lock:
                    self._running += 1
                try:
                    job.future.set_result(job.fn(job.cancelled))
                except BaseException as err:  # noqa: BLE001 - handed to the awaiting request
                    job.future.set_exception(err)
                finally:
                    with self._lock:
                        self._running -= 1
            finally:
                with self._lock:
                    self._load -= 1

    def close(self, timeout: float = 10.0) -> bool:
        """Stop after the queued jobs (cancel them first to drop them); True when every worker ended."""
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)


@dataclass
class Setup:
    model_id: str
    assembly: AssemblyLike
    lane: Lane
    policy: str | None = None  # the policy the id selects; None: the assembly's own


@dataclass
class Service:
    """The setups by model id, their lanes, and the jobs in flight."""

    setups: dict[str, Setup]
    default_id: str = MODEL_PREFIX
    log: bool = True
    notify: Notify | None = None
    jobs: set[Job] = field(default_factory=set)
    closing: bool = False

    @classmethod
    def from_assemblies(
        cls,
        assemblies: dict[str, AssemblyLike],
        *,
        remote_workers: int = 4,
        max_queue: int = 8,
        log: bool = True,
        notify: Notify | None = None,
    ) -> Service:
        """Setups for `assemblies` (model id -> assembly; the first is the default, which also answers to
        `csteer:POLICY` for every policy). Assemblies that share an in-process model share a lane."""
        lanes: list[tuple[set[str], Lane]] = []
        setups: dict[str, Setup] = {}
        for n, (model_id, assembly) in enumerate(assemblies.items()):
            local = set(assembly.local_models)
            lane = next((ln for models, ln in lanes if models & local), None)
            if lane is None:
                workers = 1 if local else remote_workers
                lane = Lane(f"{n}", workers=workers, max_queue=max_queue)
                lanes.append((local, lane))
            else:
                next(models for models, ln in lanes if ln is lane).update(local)
            setups[model_id] = Setup(model_id, assembly, lane)
            if n == 0:
                for policy in POLICY_NAMES:
                    pid = f"{MODEL_PREFIX}:{policy}"
                    setups[pid] = Setup(pid, assembly, lane, policy=policy)
        default_id = next(iter(assemblies))
        return cls(setups, default_id=default_id, log=log, notify=notify)

    @classmethod
    def load(
        cls,
        settings: RunSettings,
        allow_models: Iterable[str] = (),
        *,
        notify: Notify | None = None,
        **options: Any,
    ) -> Service:
        """Load the server's models once: the default setup, then one per allowed task-model spec."""
        from csteer.runtime.assemble import Assembly

        assemblies: dict[str, Assembly] = {MODEL_PREFIX: Assembly(settings, notify, coach_needed=True)}
        for spec in allow_models:
            if spec not in assemblies:
                assemblies[spec] = Assembly(settings.with_changes(model=spec), notify, coach_needed=True)
        return cls.from_assemblies(dict(assemblies), notify=notify, **options)

    # --- what the app asks -----------------------------------------------------------------------------
    @property
    def model_ids(self) -> list[str]:
        return list(self.setups)

    @property
    def lanes(self) -> list[Lane]:
        return list({id(s.lane): s.lane for s in self.setups.values()}.values())

    def health(self) -> dict[str, Any]:
        default = self.setups[self.default_id].assembly.settings
        return {
            "status": "shutting_down" if self.closing else "ok",
            "models": self.model_ids,
            "settings": load_settings(default),
            "home": str(paths.home()),  # the model store and run log it uses
            "lanes": [lane.stats() for lane in self.lanes],
        }

    def settings_for(self, request: ChatRequest) -> tuple[Setup, RunSettings]:
        setup = self.setups.get(request.model)
        if setup is None:
            raise RequestError(
                404,
                f"the model {request.model!r} does not exist; this server has {', '.join(self.setups)}",
                param="model",
                code="model_not_found",
            )
        changes = dict(request.settings)
        if setup.policy is not None:
            changes.setdefault("policy", setup.policy)
        try:
            return setup, setup.assembly.settings.with_changes(**changes)
        except CsteerError as err:
            raise RequestError(400, str(err), code="usage_error") from None

    def submit(self, request: ChatRequest, progress: Callable[[str], None] | None = None) -> Job:
        """Queue the request's run on its setup's lane (RequestError 404/400/429/503)."""
        if self.closing:
            raise RequestError(503, "the server is shutting down", type="server_error", code="shutting_down")
        setup, settings = self.settings_for(request)
        log = self.log and request.log

        def work(cancelled: threading.Event) -> Run:
            def trace(message: str) -> None:
                if cancelled.is_set():
                    raise Cancelled
                if progress is not None:
                    progress(message)

            run = setup.assembly.loop(settings, trace=trace).run(request.question)
            if log:
                self._log(run)
            return run

        try:
            job = setup.lane.submit(work)
        except QueueFull:
            raise RequestError(
                429,
                "the server is busy: its queue for this model is full, retry later",
                type="rate_limit_error",
                code="queue_full",
            ) from None
        self.jobs.add(job)
        job.future.add_done_callback(lambda _f: self.jobs.discard(job))
        return job

    def _log(self, run: Run) -> None:
        """The same record `csteer ask` logs, marked as served; a broken log must not cost the answer."""
        try:
            from csteer.runlog import log_run

            record = run.to_dict()
            record.update(exit_status=0 if run.answer is not None else 3, via="serve")
            log_run(record)
        except Exception as err:  # noqa: BLE001 - logging is best effort by design
            if self.notify:
                self.notify(f"csteer: warning: could not write the run log: {err}")

    def cancel_all(self) -> int:
        jobs = list(self.jobs)
        for job in jobs:
            job.cancel()
        return len(jobs)

    def close(self, timeout: float = 10.0) -> bool:
        """Refuse new work, cancel what is queued or running, wait for the workers to end."""
        self.closing = True
        self.cancel_all()
        deadline = time.monotonic() + timeout
        ok = all([lane.close(max(0.0, deadline - time.monotonic())) for lane in self.lanes])
        for setup in self.setups.values():
            closer = getattr(setup.assembly, "close", None)
            if callable(closer):
                closer()
        return ok
