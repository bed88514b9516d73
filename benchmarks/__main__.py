"""`python -m benchmarks [--quick] [--json] [CASE ...]`: run every case, each in its own process.

A case is a module in this folder with `measure(quick: bool) -> dict` (see common.result). Each runs in a
fresh interpreter so one case's memory or threads do not skew the next.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

CASES = [
    "engine_overhead",
    "vs_transformers",
    "prefix_reuse",
    "sandbox_warm",
    "onnx_vs_optimum",
    "cli_startup",
    "thread_choice",
    "ask_e2e",
    "bench_concurrency",
    "bench_ray",
    "ask_warm",
    "serve_throughput",
    "everyday",
]


def run_case(name: str, quick: bool) -> dict:
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / f"{name}.py").exists():
        return {"name": name, "error": "case not written yet"}
    cmd = [
        sys.executable,
        "-c",
        f"import json,benchmarks.{name} as m; print('@@'+json.dumps(m.measure({quick})))",
    ]
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=root, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)}
    )
    for line in proc.stdout.splitlines():
        if line.startswith("@@"):
            out = json.loads(line[2:])
            out["case_seconds"] = round(time.perf_counter() - start, 1)
            return out
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"name": name, "error": tail[:300]}


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick, as_json = "--quick" in sys.argv, "--json" in sys.argv
    results = []
    for name in args or CASES:
        print(f"benchmarks: {name} ...", file=sys.stderr, flush=True)
        results.append(run_case(name, quick))
    if as_json:
        print(json.dumps(results, indent=2))
        return
    print(f"machine: {machine()}")
    print(f"{'case':<18}{'ratio':>8}  {'goal':<8}{'met':<5}{'a':>12}  {'b':>12}  unit      min..max")
    for r in results:
        if "error" in r:
            print(f"{r['name']:<18}  error: {r['error']}")
            continue
        noise = f"{r['ratio_min']:.2f}..{r['ratio_max']:.2f}" if r.get("ratio_min") is not None else ""
        met = {True: "yes", False: "NO", None: "-"}[r.get("met")]
        print(
            f"{r['name']:<18}{r['ratio']:>8.2f}  {r.get('goal') or '-':<8}{met:<5}{r['a']:>12.4g}  {r['b']:>12.4g}  {r['unit']:<9} {noise}"
        )


if __name__ == "__main__":
    main()
