"""`csteer bench --ray`: the same bench, its samples fanned out to a pool of Ray actors.

The driver (this process) is a BenchRunner: it plans, skips what the results file already holds and
writes every record exactly as the local runner does; only its `_execute` differs, handing the jobs to
actors instead of threads. Each actor (BenchWorker) builds its own Assembly once: its own warm sandbox
pool and, for local GGUF/ONNX models, its own loaded engines (remote engines are the same URL for all).

The rules that keep the results file right:
  - only the driver appends, in completion order, one fsync'd line per finished sample: a sample is never
    recorded twice, and killing the driver loses nothing that finished (the next run resumes);
  - a Ray error on a sample's call (the worker process killed, its node lost, Ray's OOM killer) means the
    sample did not finish: the actor is replaced and the sample goes back to the front of the queue; after
    `tries` such failures it is recorded as an error (`--retry-errors` runs it again later);
  - a failure inside the sample (model server down, a program that crashes) is the record's `error`, as
    with the local runner; it is not retried here.
`ray` is imported only when a run asks for it (the extra `csteer[ray]`).
"""

from __future__ import annotations

import importlib.util
import math
import os
import socket
import statistics
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from csteer.bench.results import ResultsWriter
from csteer.bench.runner import BenchConfig, BenchRunner, Job, Notify, Observer, Summary, _one_line
from csteer.engines.spec import parse_explicit
from csteer.errors import CsteerError, UsageError

LOCAL = "local"  # --ray with no address: start a Ray instance in this process, bound to 127.0.0.1
# variables the workers of an existing cluster get from the driver (a local Ray inherits them all);
# CSTEER_HOME is left out: each node has its own model store
FORWARDED_ENV = ("CSTEER_", "OPENAI_", "ANTHROPIC_", "OLLAMA_")
INSTALL_HINT = "--ray needs Ray: pip install 'csteer[ray]'"


@dataclass
class RayOptions:
    """Where the actors run and what each one reserves (Ray's logical resources, used for placement)."""

    # LOCAL, or what ray.init(address=...) takes: "auto", "HOST:PORT", "ray://HOST:PORT"
    address: str | None = LOCAL
    actors: int | None = None  # None: as many as the cluster's CPUs (GPUs) allow, at most one per sample
    cpus: float = 1.0
    gpus: float | None = None  # None: 1 per actor for an in-process model on a cluster with GPUs, else 0
    memory: int | None = None  # bytes reserved per actor; None reserves none
    tries: int = 3  # calls per sample that may end in a dead worker before it is recorded as an error

    def check(self) -> None:
        if self.actors is not None and self.actors < 1:
            raise UsageError("--ray-actors must be at least 1")
        if self.cpus < 0 or (self.gpus is not None and self.gpus < 0):
            raise UsageError("--ray-cpus and --ray-gpus cannot be negative")
        if self.memory is not None and self.memory <= 0:
            raise UsageError("--ray-memory must be positive")
        if self.tries < 1:
            raise UsageError("--ray-tries must be at least 1")


def parse_memory(text: str) -> int:
    """'2GB', '512MiB', '1.5G', '1000000' -> bytes."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(value[-1:], 1)
    number = value[:-1] if scale > 1 else value
    try:
        amount = float(number)
    except ValueError:
        raise UsageError(f"--ray-memory {text!r}: use bytes or a size such as 2GB or 512MB") from None
    if amount <= 0:
        raise UsageError("--ray-memory must be positive")
    return int(amount * scale)


class BenchWorker:
    """One Ray actor: a BenchRunner with its own Assembly, running the samples it is given.

    A failure to assemble (model missing on this node, a sandbox that cannot run code) is kept and
    reported by `ready()`, so the driver can stop with the actual reason instead of Ray's traceback."""

    def __init__(self, config: BenchConfig, needs_coach: bool) -> None:
        self.notes: list[str] = []
        self.error: str | None = None
        self.local_models: list[str] = []
        self.runner = BenchRunner(config, notify=self.notes.append)
        try:
            self.local_models = self.runner.assemble(needs_coach).local_models
        except CsteerError as err:
            self.error = str(err)
        except Exception as err:  # noqa: BLE001 - reported to the driver as one line
            self.error = _one_line(f"{type(err).__name__}: {err}")

    def ready(self) -> dict[str, Any]:
        import ray

        return {
            "error": self.error,
            "node": ray.get_runtime_context().get_node_id(),
            "host": f"{socket.gethostname()} ({ray.util.get_node_ip_address()})",
            "pid": os.getpid(),
            "local_models": self.local_models,
            "notes": self._drain(),
        }

    def run(self, job: Job) -> tuple[dict[str, Any] | None, list[str]]:
        return self.runner.run_job(job), self._drain()

    def _drain(self) -> list[str]:
        notes, self.notes[:] = list(self.notes), []
        return notes


@dataclass
class _Slot:
    """A place for one actor; the actor in it is replaced when it dies (generation counts them)."""

    index: int
    handle: Any = None
    generation: int = 0
    ready: bool = False
    node: str = ""
    host: str = ""
    inflight: int = 0


@dataclass
class _Call:
    slot: _Slot
    generation: int
    job: Job
    submitted: float


@dataclass
class _Node:
    host: str
    actors: int = 0
    samples: int = 0
    busy_seconds: float = 0.0


@dataclass
class ClusterStats:
    """What a Ray run adds to the summary (`--json`): where samples ran and what Ray cost."""

    address: str = ""
    actors: int = 0
    per_actor: int = 1  # samples one actor runs at once
    resources: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0
    worker_deaths: int = 0
    resubmitted: int = 0
    gave_up: int = 0  # samples recorded as errors after `tries` dead workers
    # median per sample: the driver's submit-to-result time minus the sample's own seconds
    overhead_ms: float | None = None
    nodes: dict[str, _Node] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        wall = self.wall_seconds or 1e-9
        return {
            "address": self.address,
            "actors": self.actors,
            "per_actor": self.per_actor,
            "resources": self.resources,
            "wall_seconds": round(self.wall_seconds, 3),
            "worker_deaths": self.worker_deaths,
            "resubmitted": self.resubmitted,
            "gave_up": self.gave_up,
            "overhead_ms": None if self.overhead_ms is None else round(self.overhead_ms, 1),
            "nodes": {
                node: {
                    "host": n.host,
                    "actors": n.actors,
                    "samples": n.samples,
                    "busy_seconds": round(n.busy_seconds, 3),
                    "samples_per_minute": round(60.0 * n.samples / wall, 2),
                }
                for node, n in self.nodes.items()
            },
        }


class RayBenchRunner(BenchRunner):
    """BenchRunner whose jobs run on Ray actors; planning, resume and the file are the base class's."""

    def __init__(
        self,
        config: BenchConfig,
        ray_options: RayOptions | None = None,
        notify: Notify | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.ray_options = ray_options or RayOptions()
        self.ray_options.check()
        if importlib.util.find_spec("ray") is None:  # before the results file is opened or planned
            raise UsageError(INSTALL_HINT)
        super().__init__(config, notify=notify, observer=observer)
        self.cluster = ClusterStats()
        self._seen_notes: set[str] = set()

    def _execute(self, todo: list[Job], writer: ResultsWriter, summary: Summary) -> None:
        ray = _import_ray(self.ray_options.address)
        connected = not ray.is_initialized()
        if connected:
            opts = self.ray_options
            # a local Ray sized to the actors asked for (they reserve opts.cpus each), else to the machine
            cpus = None if opts.actors is None else opts.actors * opts.cpus
            self.cluster.address = _connect(ray, opts.address, cpus)
        try:
            _Pool(self, ray, todo, writer, summary).run()
        finally:
            if connected:
                ray.shutdown()  # a local instance stops; on a cluster this driver's actors go

    def local_models(self) -> list[str]:
        """The specs that load in-process (their actors run one sample at a time), read from the specs
        alone: the driver neither needs the models nor loads them."""
        cfg = self.config.run
        specs = [cfg.model]
        if any(m.needs_coach for m in _methods(self.config)):
            specs.append(cfg.coach)
        local = []
        for text in specs:
            explicit = parse_explicit(text)
            if explicit is None or explicit.is_local:  # names are store/catalog models: local files
                local.append(text)
        return list(dict.fromkeys(local))

    def note(self, message: str) -> None:
        if message not in self._seen_notes:
            self._seen_notes.add(message)
            self.notify(message)


class _Pool:
    """The driver's loop: keep every ready actor busy, write results as they come, replace dead actors."""

    def __init__(
        self, runner: RayBenchRunner, ray: Any, todo: list[Job], writer: ResultsWriter, summary: Summary
    ) -> None:
        self.runner, self.ray, self.writer, self.summary = runner, ray, writer, summary
        self.options = runner.ray_options
        self.stats = runner.cluster
        self.queue: deque[Job] = deque(todo)
        self.tries: dict[Any, int] = {}
        self.calls: dict[Any, _Call] = {}  # ObjectRef of run() -> the call
        self.starting: dict[Any, tuple[_Slot, int]] = {}  # ObjectRef of ready() -> the slot it starts
        self.overheads: list[float] = []
        self.start_failures = 0
        local = runner.local_models()
        self.per_actor = 1 if local else runner.config.concurrency
        self.needs_coach = any(job.method.needs_coach for job in todo)
        self.resources = self._resources(local)
        self.count = self._actor_count(len(todo))
        self.slots = [_Slot(i) for i in range(self.count)]
        self.config_ref = ray.put(runner.config)
        self.actor_class = ray.remote(BenchWorker)
        summary.serial = False
        self.stats.actors, self.stats.per_actor = self.count, self.per_actor
        self.stats.resources = {k: v for k, v in self.resources.items() if k != "runtime_env"}
        where = (
            "in-process models, one sample at a time each" if local else f"{self.per_actor} at a time each"
        )
        runner.notify(f"csteer: ray: {self.count} actor(s) ({where}) for {len(todo)} sample(s)")

    # --- placement ------------------------------------------------------------------------------------
    def _resources(self, local: list[str]) -> dict[str, Any]:
        opts, total = self.options, self.ray.cluster_resources()
        gpus = opts.gpus
        if gpus is None:
            gpus = (
                1.0 if local and total.get("GPU", 0) >= 1 and self.runner.config.run.gpu_layers != 0 else 0.0
            )
        for name, want in (("CPU", opts.cpus), ("GPU", gpus)):
            if want > total.get(name, 0):
                raise UsageError(
                    f"each Ray actor asks for {want:g} {name}, and the cluster has {total.get(name, 0):g}"
                )
        if opts.memory is not None and opts.memory > total.get("memory", 0):
            raise UsageError(
                f"each Ray actor asks for {opts.memory / 2**30:.1f} GiB, "
                f"and the cluster has {total.get('memory', 0) / 2**30:.1f} GiB"
            )
        resources: dict[str, Any] = {"num_cpus": opts.cpus, "num_gpus": gpus}
        if opts.memory is not None:
            resources["memory"] = opts.memory
        if self.stats.address != LOCAL:
            env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV) and k != "CSTEER_HOME"}
            if env:
                resources["runtime_env"] = {"env_vars": env}
        return resources

    def _actor_count(self, todo: int) -> int:
        if self.options.actors is not None:
            return min(self.options.actors, todo)
        total = self.ray.cluster_resources()
        fits = []
        for name, key in (("CPU", "num_cpus"), ("GPU", "num_gpus")):
            if self.resources[key]:
                fits.append(int(total.get(name, 0) // self.resources[key]))
        if self.resources.get("memory"):
            fits.append(int(total.get("memory", 0) // self.resources["memory"]))
        return max(1, min([*fits, -(-todo // self.per_actor)] if fits else [todo]))

    def _spawn(self, slot: _Slot) -> None:
        slot.generation += 1
        slot.ready, slot.inflight = False, 0
        slot.handle = self.actor_class.options(
            max_concurrency=self.per_actor, max_restarts=0, max_task_retries=0, **self.resources
        ).remote(self.config_ref, self.needs_coach)
        self.starting[slot.handle.ready.remote()] = (slot, slot.generation)

    def _retire(self, slot: _Slot) -> None:
        """The slot's actor died (or is unreachable): kill what is left of it and start another."""
        self.stats.worker_deaths += 1
        self.start_failures += not slot.ready
        if self.start_failures > self.options.tries * self.count:
            raise CsteerError(
                "ray: bench actors keep dying while they start; see the Ray logs of the workers"
            )
        if slot.node in self.stats.nodes and slot.ready:
            self.stats.nodes[slot.node].actors -= 1
        try:
            self.ray.kill(slot.handle, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        self._spawn(slot)

    # --- the loop -------------------------------------------------------------------------------------
    def run(self) -> None:
        ray, summary = self.ray, self.summary
        started = time.perf_counter()
        for slot in self.slots:
            self._spawn(slot)
        observed = False
        try:
            while self.queue or self.calls:
                self._fill()
                if not observed and any(slot.ready for slot in self.slots):
                    self.runner.observer.start(summary)
                    observed = True
                pending = [*self.calls, *self.starting]
                try:
                    done, _ = ray.wait(pending, num_returns=1, timeout=0.5)
                except KeyboardInterrupt:
                    summary.stopped = True
                    self.runner.stop.set()
                    self.runner.notify(
                        "csteer: stopping: finished samples are saved; unfinished ones run again next time"
                    )
                    break
                for ref in done:
                    if ref in self.starting:
                        self._started(ref)
                    else:
                        self._finished(ref)
        finally:
            self.stats.wall_seconds = time.perf_counter() - started
            if self.overheads:
                self.stats.overhead_ms = 1000.0 * statistics.median(self.overheads)
            if not observed:
                self.runner.observer.start(summary)
            for slot in self.slots:
                try:
                    ray.kill(slot.handle, no_restart=True)
                except Exception:  # noqa: BLE001 - already gone
                    pass

    def _fill(self) -> None:
        for slot in self.slots:
            while slot.ready and slot.inflight < self.per_actor and self.queue:
                job = self.queue.popleft()
                ref = slot.handle.run.remote(job)
                self.calls[ref] = _Call(slot, slot.generation, job, time.perf_counter())
                slot.inflight += 1

    def _started(self, ref: Any) -> None:
        slot, generation = self.starting.pop(ref)
        if generation != slot.generation:
            return
        try:
            info = self.ray.get(ref)
        except self.ray.exceptions.RayError as err:
            self.runner.notify(
                f"csteer: ray: an actor died while starting ({_first_line(err)}); starting another"
            )
            self._retire(slot)
            return
        for note in info["notes"]:
            self.runner.note(note)
        if info["error"]:
            raise CsteerError(f"ray: a bench actor on {info['host']} cannot run samples: {info['error']}")
        slot.ready, slot.node, slot.host = True, info["node"], info["host"]
        self.start_failures = 0
        node = self.stats.nodes.setdefault(slot.node, _Node(slot.host))
        node.actors += 1

    def _finished(self, ref: Any) -> None:
        ray, call = self.ray, self.calls.pop(ref)
        slot = call.slot
        if call.generation == slot.generation:
            slot.inflight -= 1
        try:
            record, notes = ray.get(ref)
        except ray.exceptions.RayTaskError as err:  # raised inside run(), not a dead worker: no retry
            self._give_up(call.job, f"ray: {_first_line(err)}")
            return
        except ray.exceptions.RayError as err:  # the worker or its node died, or Ray killed it
            if call.generation == slot.generation:
                self._retire(slot)
            self._worker_died(call.job, err)
            return
        for note in notes:
            self.runner.note(note)
        if record is None:  # the actor was stopping
            return
        self.overheads.append(max(0.0, time.perf_counter() - call.submitted - (record["seconds"] or 0.0)))
        node = self.stats.nodes.setdefault(slot.node, _Node(slot.host))
        node.samples += 1
        node.busy_seconds += record["seconds"] or 0.0
        self.runner._write(self.writer, record, self.summary)

    def _worker_died(self, job: Job, err: BaseException) -> None:
        tries = self.tries[job.key] = self.tries.get(job.key, 0) + 1
        label = "/".join(job.key)
        if tries >= self.options.tries:
            self._give_up(job, f"the worker died {tries} time(s) running this sample ({_first_line(err)})")
            return
        self.stats.resubmitted += 1
        self.runner.notify(
            f"csteer: ray: the worker running {label} died ({_first_line(err)}); running it again"
        )
        self.queue.appendleft(job)

    def _give_up(self, job: Job, reason: str) -> None:
        self.stats.gave_up += 1
        record = self.runner.new_record(job)
        record["error"] = _one_line(reason)
        record["time"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.runner._write(self.writer, record, self.summary)


def _methods(config: BenchConfig) -> list[Any]:
    from csteer.bench.methods import expand_methods

    return list(expand_methods(config.methods, config.ablate))


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return _one_line(f"{type(err).__name__}: {text[0] if text else ''}")[:160]


# Ray on Linux replaces 127.0.0.1 with the machine's routable address when it starts a node; with this
# variable at "0" (read when ray is imported, inherited by the node's processes) it stays on loopback.
_BIND_LOOPBACK = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _import_ray(address: str | None) -> Any:
    if _on_loopback(address) and "ray" not in sys.modules:
        os.environ.setdefault(_BIND_LOOPBACK, "0")
    try:
        import ray
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return ray


def _on_loopback(address: str | None) -> bool:
    """A Ray this process starts, or a cluster at 127.x/localhost (which Ray would otherwise look for at
    the machine's routable address)."""
    if address in (None, LOCAL):
        return True
    host = address.removeprefix("ray://").rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def _connect(ray: Any, address: str | None, cpus: float | None = None) -> str:
    """Start a local Ray (LOCAL/None; `cpus` CPUs, default all) or join a cluster; the address as the
    summary reports it."""
    import logging

    try:
        if address in (None, LOCAL):
            ray.init(
                address="local",  # never join some other cluster found on this machine
                num_cpus=None if cpus is None else max(1, math.ceil(cpus)),
                _node_ip_address="127.0.0.1",
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
            return LOCAL
        _reachable(address)
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        return address
    except (ConnectionError, TimeoutError) as err:
        raise CsteerError(f"ray: cannot connect to {address}: {_first_line(err)}") from err


def _reachable(address: str) -> None:
    """Fail in seconds, not after Ray's minutes of retries, when HOST:PORT does not answer."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and the like: Ray finds the cluster
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as err:
        raise CsteerError(f"ray: nothing answers at {address} ({err.strerror or err})") from None
