"""bench_ray: `csteer bench --ray` (a local Ray, 2 actors x --concurrency 2) against the local runner
(--concurrency 4) on the same 24 samples, against llama-cpp-python's server on loopback (the embedded model,
all-code). Both runs keep 4 samples in flight, so the ratio is what Ray costs: its start (ray.init, two
actors that each assemble a sandbox pool) and one actor call per sample. Reported, no fixed goal: on 2
cores the point is that Ray costs little, not that it is faster.

Each run must exit 0 and record all 24 samples without an error, so a failing run cannot look fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.bench_concurrency import _free_port, _wait
from benchmarks.common import main, result
from benchmarks.models import embedded_path

SAMPLES = 24


def _bench(base: str, out: Path, extra: list[str]) -> tuple[float, dict[str, Any]]:
    cmd = [sys.executable, "-m", "csteer", "bench", "--tasks", "number_multiply", "--method", "all-code"]
    cmd += ["--samples", str(SAMPLES), "--seed", "3", "-m", f"openai:gemma@{base}", "--task-kind", "base"]
    cmd += ["--out", str(out), "--json", "-q", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OPENAI_API_KEY": "none"})
    wall = time.perf_counter() - start
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(extra)}: exit {proc.returncode}: {tail}")
    summary = json.loads(proc.stdout)
    keys = {(r["task"], r["method"], r["sample_id"]) for r in map(json.loads, out.read_text().splitlines())}
    if summary["written"] != SAMPLES or summary["errors"] or len(keys) != SAMPLES:
        raise RuntimeError(f"{' '.join(extra)}: {summary['written']} written, {summary['errors']} errors")
    return wall, summary


def measure(quick: bool) -> dict[str, Any]:
    path = embedded_path()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1"]
        + ["--port", str(port), "--n_ctx", "4096", "--model_alias", "gemma"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    local_walls: list[float] = []
    ray_walls: list[float] = []
    call_overheads: list[float] = []
    ray_starts: list[float] = []  # ray.init and ray.shutdown, outside the actor pool
    local_flags = ["--concurrency", "4"]
    ray_flags = ["--ray", "--ray-actors", "2", "--concurrency", "2"]
    try:
        _wait(f"{base}/models", server)
        with tempfile.TemporaryDirectory() as tmp:
            _bench(base, Path(tmp) / "warmup.jsonl", local_flags)  # the server's first requests, page cache
            for rep in range(1 if quick else 3):
                order = [("local", local_flags), ("ray", ray_flags)]
                for kind, flags in order if rep % 2 == 0 else order[::-1]:
                    wall, summary = _bench(base, Path(tmp) / f"r{rep}-{kind}.jsonl", flags)
                    if kind == "local":
                        local_walls.append(wall)
                    else:
                        ray_walls.append(wall)
                        call_overheads.append(summary["ray"]["overhead_ms"])
                        ray_starts.append(summary["wall_seconds"] - summary["ray"]["wall_seconds"])
    finally:
        server.terminate()
        server.wait(timeout=30)
    out = result(
        "bench_ray",
        ray_walls,
        local_walls,
        "s",
        None,
        "--ray, 2 actors x --concurrency 2 (wall)",
        "--concurrency 4 (wall)",
        note=f"{SAMPLES} number_multiply samples, all-code, llama_cpp.server, local Ray on 127.0.0.1",
    )
    out["overhead_per_sample_s"] = [round((r - lo) / SAMPLES, 3) for r, lo in zip(ray_walls, local_walls)]
    out["ray_call_overhead_ms"] = call_overheads  # median per run: submit-to-result minus the sample's time
    out["ray_start_s"] = [round(x, 2) for x in ray_starts]
    out["versions"] = {name: version(name) for name in ("ray", "llama-cpp-python", "csteer")}
    return out


if __name__ == "__main__":
    main(measure)
