"""Run bench jobs (task x sample x method) through the steering loop and append one record each.

Local in-process engines (gguf, onnx) hold one model context behind a lock, so their samples run one
at a time in the calling thread (Ctrl-C then interrupts the model call itself). Remote engines get a
pool of `concurrency` threads; on Ctrl-C the pool stops taking jobs and each running sample stops at
its next step (the loop's trace hook is called before every model call). A stopped sample writes
nothing, so the file only ever holds finished samples and the next run asks it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from csteer.bench.methods import Method, expand_methods
from csteer.bench.results import RECORD_VERSION, Key, ResultsWriter, describe, fingerprint
from csteer.bench.samples import plan_samples, select_tasks
from csteer.errors import CsteerError, UsageError
from csteer.runtime.assemble import Assembly
from csteer.runtime.settings import RunSettings
from csteer.sandbox import Sandbox
from csteer.symbench.base import Sample, Task

ANSWER_CLIP = 2000  # characters of an answer kept in a record
Notify = Callable[[str], None]


@dataclass
class BenchConfig:
    """A bench run: which samples and methods, where results go, and the RunSettings every sample uses
    (each method varies only its policy and checker switches)."""

    out: Path
    run: RunSettings = field(default_factory=RunSettings)
    tasks: str = "all"
    methods: str = "codesteer"
    samples: int = 10
    complexity: int | None = None
    seed: int = 0  # sample generation; the run settings' sampling seed is the same number
    concurrency: int = 1
    data: Path | None = None
    ablate: str | None = None
    retry_errors: bool = False

    def settings(self) -> dict[str, Any]:
        """What decides a sample's result; a results file holds runs of one setting only."""
        run = self.run
        return {
            "model": run.model,
            "coach": run.coach,
            "task_kind": run.task_kind,
            "coach_kind": run.coach_kind,
            "profile": run.profile,
            "max_turns": run.max_turns,
            "candidates": run.candidates,
            "temperature": run.temperature,
            "seed": self.seed,
            "complexity": self.complexity,
            "data": str(Path(self.data).expanduser().resolve()) if self.data else None,
            "code_timeout": run.code_timeout,
        }

    def check(self) -> None:
        if self.samples < 1:
            raise UsageError("--samples must be at least 1")
        if self.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")

    def settings_for(self, method: Method) -> RunSettings:
        return self.run.with_changes(
            policy=method.policy,
            symbolic_check=method.symbolic_check,
            self_check=method.self_check,
            seed=self.seed,
        )


@dataclass(frozen=True)
class Job:
    task: Task
    sample: Sample
    method: Method
    complexity: int | None

    @property
    def key(self) -> Key:
        return (self.task.id, self.method.name, self.sample.id)


@dataclass
class Summary:
    planned: int = 0  # jobs this invocation covers
    already_done: int = 0  # skipped: a record was in the file
    todo: int = 0
    written: int = 0
    correct: int = 0
    errors: int = 0
    stale_errors: int = 0  # errored records left alone (no --retry-errors)
    stopped: bool = False
    serial: bool = True
    methods: list[str] = field(default_factory=list)


class Observer:
    """What the runner tells its caller; the CLI draws a progress bar from it."""

    def start(self, summary: Summary) -> None: ...

    def record(self, record: dict[str, Any]) -> None: ...


class _Stopped(Exception):
    """Raised from the loop's trace hook when the run is stopping."""


class BenchRunner:
    def __init__(self, config: BenchConfig, notify: Notify | None = None, observer: Observer | None = None):
        config.check()
        self.config = config
        self.notify = notify or (lambda _msg: None)
        self.observer = observer or Observer()
        self.stop = threading.Event()
        self.settings = config.settings()
        self.fingerprint = fingerprint(self.settings)
        self._assembly: Assembly | None = None

    # --- planning -------------------------------------------------------------------------------------
    def plan(self) -> list[Job]:
        cfg = self.config
        methods = expand_methods(cfg.methods, cfg.ablate)
        selection = select_tasks(cfg.tasks)
        planned = plan_samples(selection, cfg.samples, cfg.complexity, cfg.seed, cfg.data, self.notify)
        jobs = []
        for item in planned:
            for sample in item.samples:
                for method in methods:
                    jobs.append(Job(item.task, sample, method, item.complexity))
        return jobs

    # --- running --------------------------------------------------------------------------------------
    def run(self) -> Summary:
        jobs = self.plan()
        summary = Summary(planned=len(jobs), methods=list(dict.fromkeys(j.method.name for j in jobs)))
        writer = ResultsWriter(self.config.out)
        contents = writer.open()
        try:
            for note in describe(contents, repaired=True):
                self.notify(f"csteer: {self.config.out}: {note}")
            self._check_settings(contents.records)
            latest = contents.latest()
            todo = []
            for job in jobs:
                previous = latest.get(job.key)
                if previous is None:
                    todo.append(job)
                elif previous.get("error"):
                    if self.config.retry_errors:
                        todo.append(job)
                    else:
                        summary.stale_errors += 1
                else:
                    summary.already_done += 1
            summary.todo = len(todo)
            if summary.stale_errors:
                self.notify(
                    f"csteer: {summary.stale_errors} sample(s) errored in an earlier run; "
                    "--retry-errors runs them again"
                )
            if not todo:
                self.observer.start(summary)
                return summary
            self._execute(todo, writer, summary)
        finally:
            writer.close()
        return summary

    def _execute(self, todo: list[Job], writer: ResultsWriter, summary: Summary) -> None:
        """Run the jobs still to do and write each record (ray_runner runs them on a Ray cluster)."""
        summary.serial = self._assemble(todo)
        self.observer.start(summary)
        if summary.serial:
            self._run_serial(todo, writer, summary)
        else:
            self._run_pool(todo, writer, summary)

    def _write(self, writer: ResultsWriter, record: dict[str, Any], summary: Summary) -> None:
        writer.append(record)
        summary.written += 1
        summary.correct += bool(record["correct"])
        summary.errors += bool(record["error"])
        self.observer.record(record)

    def _run_serial(self, todo: list[Job], writer: ResultsWriter, summary: Summary) -> None:
        try:
            for job in todo:
                record = self.run_job(job)
                if record is not None:
                    self._write(writer, record, summary)
        except KeyboardInterrupt:
            self.stop.set()
            summary.stopped = True

    def _run_pool(self, todo: list[Job], writer: ResultsWriter, summary: Summary) -> None:
        pool = ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="csteer-bench")
        pending: set[Future[dict[str, Any] | None]] = {pool.submit(self.run_job, job) for job in todo}
        try:
            while pending:
                try:
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    self.stop.set()
                    summary.stopped = True
                    self.notify(
                        "csteer: stopping: finished samples are saved; unfinished ones run again next time"
                    )
                    continue
                for future in done:
                    if future.cancelled():
                        continue
                    record = future.result()
                    if record is not None:
                        self._write(writer, record, summary)
                if self.stop.is_set():
                    for future in pending:
                        future.cancel()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # --- one sample -----------------------------------------------------------------------------------
    def run_job(self, job: Job) -> dict[str, Any] | None:
        """Ask one sample with one method; the record to write, or None when the run is stopping."""
        if self.stop.is_set():
            return None
        assert self._assembly is not None, "run() assembles the models before the jobs run"
        started = time.perf_counter()
        record = self.new_record(job)
        try:
            loop = self._assembly.loop(self.config.settings_for(job.method), trace=self._trace)
            run = loop.run(job.sample.question)
            record.update(
                answer=_clip(run.answer),
                turns=len(run.turns),
                stop_reason=run.stop_reason,
                task_tokens=run.task_tokens,
                coach_tokens=run.coach_tokens,
            )
            executions = [t.execution for t in run.turns if t.execution is not None]
            record.update(
                code_runs=len(executions), code_status=executions[-1].status if executions else None
            )
            if run.answer is None:
                record.update(correct=False, reason="no answer")
            else:
                verdict = job.task.verify(job.sample, run.answer)
                record.update(correct=bool(verdict.correct), reason=verdict.reason)
        except _Stopped:
            return None
        except CsteerError as err:
            record["error"] = _one_line(str(err))
        except Exception as err:  # noqa: BLE001 - one sample's failure must not end the run
            record["error"] = _one_line(f"{type(err).__name__}: {err}")
        record["seconds"] = round(time.perf_counter() - started, 3)
        record["time"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return record

    def new_record(self, job: Job) -> dict[str, Any]:
        """A record of `job` with nothing filled in yet (every record has these fields)."""
        return {
            "v": RECORD_VERSION,
            "task": job.task.id,
            "method": job.method.name,
            "sample_id": job.sample.id,
            "correct": None,
            "answer": None,
            "reason": None,
            "turns": 0,
            "stop_reason": None,
            "code_runs": 0,  # turns whose program ran in the sandbox
            "code_status": None,  # the last program's sandbox status ("ok", "error", "policy", "timeout", ...)
            "task_tokens": None,
            "coach_tokens": None,
            "seconds": None,
            "error": None,
            "complexity": job.complexity,
            "fingerprint": self.fingerprint,
            "settings": self.settings,
        }

    def _trace(self, _message: str) -> None:
        if self.stop.is_set():
            raise _Stopped

    # --- engines --------------------------------------------------------------------------------------
    def _assemble(self, todo: list[Job]) -> bool:
        """Load the models and sandbox the jobs need; True when they must run serially (a local engine)."""
        cfg = self.config
        assembly = self.assemble(needs_coach=any(job.method.needs_coach for job in todo))
        local = assembly.local_models
        if local:
            extra = f" (--concurrency {cfg.concurrency} does not apply)" if cfg.concurrency > 1 else ""
            self.notify(f"csteer: {', '.join(local)} runs in-process: samples run one at a time{extra}")
            return True
        return cfg.concurrency == 1

    def assemble(self, needs_coach: bool) -> Assembly:
        """Build the models and sandbox every job of this runner uses, and check the sandbox runs code."""
        cfg = self.config
        assembly = Assembly(cfg.run.with_changes(seed=cfg.seed), self.notify, coach_needed=needs_coach)
        _check_sandbox(assembly.sandbox)
        self._assembly = assembly
        return assembly

    def _check_settings(self, records: list[dict[str, Any]]) -> None:
        other = next((r for r in records if r.get("fingerprint") != self.fingerprint), None)
        if other is None:
            return
        theirs = other.get("settings") or {}
        diff = [
            f"{name} {theirs.get(name)!r} -> {value!r}"
            for name, value in self.settings.items()
            if theirs.get(name) != value
        ]
        raise UsageError(
            f"{self.config.out} holds results of other settings ({'; '.join(diff) or 'unknown'}); "
            "resume with the same settings or write to another --out"
        )


def _check_sandbox(sandbox: Sandbox) -> None:
    """A sandbox that cannot run code would silently turn every code answer into a failure: refuse."""
    result = sandbox.run("print(6 * 7)")
    if result.status != "ok" or result.stdout.strip() != "42":
        detail = (result.stderr.strip().splitlines() or [result.stdout.strip() or "no output"])[-1]
        raise CsteerError(
            f"the sandbox cannot run code ({result.status}: {detail[:160]}); see `csteer sandbox check`"
        )


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= ANSWER_CLIP:
        return text
    return text[:ANSWER_CLIP] + "..."


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line[:300] or "error"


def summary_dict(summary: Summary) -> dict[str, Any]:
    return asdict(summary)


def run_bench(config: BenchConfig, notify: Notify | None = None, observer: Observer | None = None) -> Summary:
    """Run (or resume) the bench `config` describes; every finished sample is already in `config.out`."""
    return BenchRunner(config, notify=notify, observer=observer).run()
