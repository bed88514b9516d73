"""`csteer bench --ray` end to end: a real local Ray (2 CPUs, loopback), the real CLI, the embedded model
behind llama-cpp-python's OpenAI-compatible server on 127.0.0.1 as task model and coach.

The driver SIGKILL and worker SIGKILL tests share one Ray instance started here (`ray.init`, shut down in
the fixture); the CLI joins it with `--ray ADDRESS`. The first test lets the CLI start its own Ray."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from csteer.bench.results import read_results
from tests.helpers import free_port, run_csteer, start_llama_server, stop_process

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs the extra csteer[ray]")
LOOPBACK = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def records(path: Path) -> list[dict]:
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", "the file must end with a complete line"
    return [json.loads(line) for line in lines[:-1]]


@pytest.fixture(scope="module")
def server_url(embedded_gguf: Path) -> Iterator[str]:
    """llama-cpp-python's server with the embedded model on loopback (as tests/bench/test_bench_e2e.py)."""
    port = free_port()
    proc = start_llama_server(embedded_gguf, port)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A Ray instance of this test process: 2 CPUs, no dashboard, every port on 127.0.0.1."""
    # read by ray's constants when ray is imported, inherited by the node: the node stays on loopback
    # instead of the machine's routable address (see csteer/bench/ray_runner.py)
    old = os.environ.get(LOOPBACK)
    os.environ[LOOPBACK] = "0"
    import ray

    if "ray._private.ray_constants" in sys.modules:  # imported before this fixture: read the variable again
        importlib.reload(sys.modules["ray._private.ray_constants"])
    try:
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
        )
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), address
        yield address
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop(LOOPBACK, None)
        else:
            os.environ[LOOPBACK] = old


def models(url: str) -> list[str]:
    return ["-m", f"openai:gemma@{url}", "--task-kind", "base", "--coach", f"openai:gemma@{url}"] + [
        "--coach-kind",
        "base",
    ]


def bench_workers() -> list[tuple[int, bool]]:
    """(pid, running a sample) of the bench actors among this process's descendants (our Ray's)."""
    children: dict[int, list[int]] = {}
    titles: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            title = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
        titles[int(entry)] = title.strip()
    found, stack = [], [os.getpid()]
    while stack:
        for pid in children.get(stack.pop(), []):
            stack.append(pid)
            if titles[pid].startswith("ray::BenchWorker"):
                found.append((pid, titles[pid].startswith("ray::BenchWorker.run")))
    return found


def wait_for_lines(out: Path, proc: subprocess.Popen[bytes], count: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before the test could act"
    pytest.fail(f"no {count} record(s) in {timeout} s")


def popen_csteer(args: list[str], home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CSTEER_HOME": str(home)}
    env.pop(LOOPBACK, None)
    return subprocess.Popen(
        [sys.executable, "-m", "csteer", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.mark.slow
@needs_ray
def test_ray_gives_the_local_verdicts_and_a_json_summary(
    csteer_home: Path, tmp_path: Path, server_url: str
) -> None:
    common = [
        "bench",
        *models(server_url),
        "--tasks",
        "number_multiply",
        "--method",
        "all-code,only-question",
    ]
    common += ["--samples", "2", "--seed", "5"]
    # llama.cpp's server reuses the KV of the previous prompt's common prefix, and its output can differ
    # by a token with that prefix's length: the same verdicts need the same requests in the same order
    # after the same last request. Hence one sample at a time on both sides, after a warm-up run.
    local, fanned = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    warm = run_csteer([*common, "--out", str(tmp_path / "warm.jsonl"), "-q"], csteer_home)
    assert warm.returncode == 0, warm.stderr
    here = run_csteer([*common, "--out", str(local), "-q"], csteer_home)
    assert here.returncode == 0, here.stderr
    # no address: the CLI starts (and stops) its own Ray on 127.0.0.1
    there = run_csteer([*common, "--out", str(fanned), "--ray", "--ray-actors", "1", "--json"], csteer_home)
    assert there.returncode == 0, there.stderr
    assert "Traceback" not in there.stderr
    assert "ray: 1 actor(s) (1 at a time each) for 4 sample(s)" in there.stderr
    mine, theirs = read_results(local).latest(), read_results(fanned).latest()
    assert set(mine) == set(theirs) and len(theirs) == 4
    for key, rec in theirs.items():
        assert rec["error"] is None, rec
        assert (rec["correct"], rec["answer"], rec["turns"]) == (
            mine[key]["correct"],
            mine[key]["answer"],
            mine[key]["turns"],
        ), key
        assert rec.keys() == mine[key].keys() and rec["fingerprint"] == mine[key]["fingerprint"]
    # the files are interchangeable: a local run over the Ray file finds everything done
    again = run_csteer([*common, "--out", str(fanned), "-q"], csteer_home)
    assert again.returncode == 0 and "4 already done" in again.stderr

    summary = json.loads(there.stdout)
    assert (summary["written"], summary["errors"], summary["stopped"]) == (4, 0, False)
    cluster = summary["ray"]
    assert cluster["address"] == "local" and cluster["actors"] == 1 and cluster["worker_deaths"] == 0
    (node,) = cluster["nodes"].values()
    assert node["samples"] == 4 and node["actors"] == 1 and "127.0.0.1" in node["host"]
    assert node["samples_per_minute"] > 0 and node["busy_seconds"] > 0
    assert cluster["overhead_ms"] is not None and cluster["overhead_ms"] >= 0


@pytest.mark.slow
@needs_ray
def test_driver_sigkill_then_resume_loses_and_duplicates_nothing(
    csteer_home: Path, tmp_path: Path, server_url: str, ray_address: str
) -> None:
    out = tmp_path / "r.jsonl"
    args = ["bench", *models(server_url), "--tasks", "number_multiply", "--method", "all-code"]
    args += ["--samples", "4", "--seed", "7", "--out", str(out), "--ray", ray_address, "-q"]
    proc = popen_csteer(args, csteer_home)
    try:
        wait_for_lines(out, proc, 1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    done_before = records(out)
    assert 1 <= len(done_before) < 4
    with out.open("ab") as fh:  # what a crash in the middle of a write would leave
        fh.write(b'{"v":1,"task":"number_multiply","method":"all-co')

    resumed = run_csteer(args, csteer_home)
    assert resumed.returncode == 0, resumed.stderr
    assert "removed an unfinished final line" in resumed.stderr
    assert f"{len(done_before)} already done" in resumed.stderr
    rows = records(out)
    assert len(rows) == 4 and len({r["sample_id"] for r in rows}) == 4
    assert rows[: len(done_before)] == done_before  # finished lines are never rewritten
    assert all(r["error"] is None and isinstance(r["correct"], bool) for r in rows)


@pytest.mark.slow
@needs_ray
def test_a_worker_killed_mid_sample_is_replaced_and_the_sample_recorded_once(
    csteer_home: Path, tmp_path: Path, server_url: str, ray_address: str
) -> None:
    out = tmp_path / "r.jsonl"
    args = ["bench", *models(server_url), "--tasks", "number_multiply", "--method", "all-code"]
    args += ["--samples", "4", "--seed", "11", "--out", str(out), "--ray", ray_address, "--json", "-q"]
    proc = popen_csteer(args, csteer_home)
    try:
        wait_for_lines(out, proc, 1)
        deadline = time.monotonic() + 30
        while not (busy := [pid for pid, running in bench_workers() if running]):
            assert time.monotonic() < deadline, f"no bench actor is running a sample: {bench_workers()}"
            time.sleep(0.02)
        os.kill(busy[0], signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr.decode()
    # as many actors as the instance's 2 CPUs allow (1 CPU each)
    assert "ray: 2 actor(s) (1 at a time each) for 4 sample(s)" in stderr.decode()
    assert "died" in stderr.decode() and "running it again" in stderr.decode()
    rows = records(out)
    keys = [(r["task"], r["method"], r["sample_id"]) for r in rows]
    assert len(keys) == 4 and len(set(keys)) == 4, keys
    assert all(r["error"] is None for r in rows)
    cluster = json.loads(stdout)["ray"]
    assert cluster["worker_deaths"] == 1 and cluster["resubmitted"] == 1 and cluster["gave_up"] == 0
    assert sum(n["samples"] for n in cluster["nodes"].values()) == 4


@pytest.mark.slow
@needs_ray
def test_a_sample_that_keeps_killing_its_worker_is_recorded_as_an_error(
    csteer_home: Path, tmp_path: Path, server_url: str, ray_address: str
) -> None:
    out = tmp_path / "r.jsonl"
    args = ["bench", *models(server_url), "--tasks", "number_multiply", "--method", "all-code"]
    args += ["--samples", "1", "--seed", "13", "--out", str(out), "--ray", ray_address, "-q"]
    stop = threading.Event()
    killed: list[int] = []

    def killer() -> None:  # every worker that starts the sample dies
        while not stop.is_set():
            for pid, running in bench_workers():
                if running and pid not in killed:
                    killed.append(pid)
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        proc = run_csteer([*args, "--ray-tries", "2"], csteer_home, timeout=240)
    finally:
        stop.set()
        thread.join()
    assert proc.returncode == 1, proc.stderr
    assert len(killed) == 2
    (row,) = records(out)
    assert row["correct"] is None and "the worker died 2 time(s)" in row["error"]
    # once the cause is gone, --retry-errors runs it again like any errored sample
    retried = run_csteer([*args, "--retry-errors"], csteer_home)
    assert retried.returncode == 0, retried.stderr
    latest = read_results(out).latest()
    assert len(latest) == 1 and next(iter(latest.values()))["error"] is None


# bad input and a missing Ray: one line and exit 2, before any sample is planned (no model needed)
NO_SERVER = ["-m", "openai:gemma@http://127.0.0.1:9/v1", "--task-kind", "base", "--samples", "1"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ray-actors", "2"], "--ray-actors needs --ray"),
        (["--ray-tries", "5"], "--ray-tries needs --ray"),
        (["--ray", "--ray-actors", "0"], "--ray-actors must be at least 1"),
        (["--ray", "--ray-tries", "0"], "--ray-tries must be at least 1"),
        (["--ray", "--ray-cpus", "-1"], "cannot be negative"),
        (["--ray", "--ray-memory", "lots"], "--ray-memory 'lots': use bytes or a size"),
        (["--ray", "--ray-memory", "0GB"], "--ray-memory must be positive"),
    ],
)
def test_bad_ray_options_are_one_line_usage_errors(tmp_path: Path, extra: list[str], message: str) -> None:
    out = tmp_path / "r.jsonl"
    proc = run_csteer(["bench", *NO_SERVER, "--method", "all-code", "--out", str(out), *extra], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()


def test_ray_missing_is_a_one_line_install_hint(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    argv = ["csteer", "bench", *NO_SERVER, "--method", "all-code", "--out", str(out), "--ray"]
    # `import ray` fails as it does without the extra (None in sys.modules hides an installed ray)
    code = f"import runpy, sys; sys.modules['ray'] = None; sys.argv = {argv!r}; runpy.run_module('csteer', run_name='__main__')"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "CSTEER_HOME": str(tmp_path / "home")},
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "csteer: error: --ray needs Ray: pip install 'csteer[ray]'"
    assert not out.exists()
