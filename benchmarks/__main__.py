"""`python -m benchmarks [--quick] [--json] [--scratch DIR] [CASE ...]`: run every case, each in its own process.

A case is a module in this folder with `measure(quick: bool) -> dict` (see common.result). Each runs in a
fresh interpreter so one case's memory or threads do not skew the next. Cases in MANUAL run only when
named (`python -m benchmarks coach_8b --scratch DIR`): they need a scratch dir and tens of minutes.
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
    "batch_invariance",
    "sandbox_warm",
    "onnx_vs_optimum",
    "onnx_graph",
    "cli_startup",
    "thread_choice",
    "ask_e2e",
    "bench_concurrency",
    "bench_ray",
    "ask_warm",
    "serve_throughput",
    "everyday",
    "everyday_holdout",
]
# run only when named; each needs --scratch DIR (handed to the case in SCRATCH_ENV)
MANUAL = {"coach_8b": "a folder with about 40 GB free for the 8B-shaped checkpoint and its GGUF"}
SCRATCH_ENV = "CSTEER_BENCH_SCRATCH"


def run_case(name: str, quick: bool, scratch: str | None = None) -> dict:
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / f"{name}.py").exists():
        return {"name": name, "error": "case not written yet"}
    cmd = [
        sys.executable,
        "-c",
        f"import json,benchmarks.{name} as m; print('@@'+json.dumps(m.measure({quick})))",
    ]
    env = {**os.environ, "PYTHONPATH": str(root)}
    if scratch:
        env[SCRATCH_ENV] = str(Path(scratch).expanduser().resolve())
    start = time.perf_counter()
    if name in MANUAL:  # long cases: their progress shows on stderr as it happens
        proc = _run_teeing_stderr(cmd, root, env)
    else:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("@@"):
            out = json.loads(line[2:])
            out["case_seconds"] = round(time.perf_counter() - start, 1)
            return out
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"name": name, "error": tail[:300]}


def _run_teeing_stderr(cmd: list[str], root: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """subprocess.run(capture_output=True), except that stderr is also echoed line by line."""
    import threading

    proc = subprocess.Popen(cmd, cwd=root, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    err = []
    for line in proc.stderr:
        sys.stderr.write(line)
        err.append(line)
    reader.join()
    return subprocess.CompletedProcess(cmd, proc.wait(), "".join(stdout), "".join(err))


def _scratch(argv: list[str]) -> tuple[str | None, list[str]]:
    """`--scratch DIR` or `--scratch=DIR` out of argv: (DIR or None, the other arguments)."""
    rest, scratch = [], None
    it = iter(argv)
    for arg in it:
        if arg == "--scratch":
            scratch = next(it, "")
        elif arg.startswith("--scratch="):
            scratch = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return scratch, rest


# the libraries the measured figures depend on: printed with every report, and pinned in constraints.txt
# (README's install and .ci/run use it) so a fresh install measures what docs/BENCHMARKS.md says
MEASURED_LIBRARIES = (
    "llama-cpp-python",
    "onnxruntime",
    "onnxruntime-genai",
    "optimum",
    "optimum-onnx",
    "transformers",
    "torch",
    "numpy",
    "RestrictedPython",
)


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in MEASURED_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def pinned_versions(path: Path | None = None) -> dict[str, str]:
    """The `name==version` pins of constraints.txt, by canonical package name."""
    from packaging.requirements import Requirement

    path = path or Path(__file__).resolve().parent.parent / "constraints.txt"
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        exact = [spec.version for spec in req.specifier if spec.operator == "=="]
        if exact:
            pins[canonical(req.name)] = exact[0]
    return pins


def off_constraints(installed: dict[str, str], pins: dict[str, str]) -> list[str]:
    """`name installed (pinned X)` for each measured library whose version is not the pinned one."""
    from packaging.version import InvalidVersion, Version

    off = []
    for name, have in installed.items():
        want = pins.get(canonical(name))
        if want is None:
            continue
        try:
            same = Version(have).public == Version(want).public  # 2.13.0+cpu is torch 2.13.0
        except InvalidVersion:  # "not installed"
            same = False
        if not same:
            off.append(f"{name} {have} (pinned {want})")
    return off


def canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


FLAGS = ("--quick", "--json")


def usage() -> str:
    manual = "\n".join(f"  {name:<18}{why} (--scratch DIR)" for name, why in MANUAL.items())
    return (
        "usage: python -m benchmarks [--quick] [--json] [--scratch DIR] [CASE ...]\n\n"
        "Runs the named cases (every case below when none is named), each in its own process, and\n"
        "prints their ratios (--json: the full records). --quick: fewer repetitions.\n\n"
        "cases:\n" + "\n".join(f"  {name}" for name in CASES) + "\nrun only when named:\n" + manual
    )


def bad_argument(argv: list[str]) -> str | None:
    """Why the command line cannot run (None: it can): a flag or case this runner does not know, since
    a typo would otherwise start every case (tens of minutes) or a case that does not exist."""
    for arg in argv:
        if arg.startswith("-") and arg not in FLAGS:
            return f"unknown option {arg!r} (python -m benchmarks --help)"
        if not arg.startswith("-") and arg not in CASES and arg not in MANUAL:
            return f"unknown case {arg!r} (python -m benchmarks --help lists them)"
    return None


def main() -> None:
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(usage())
        return
    scratch, argv = _scratch(sys.argv[1:])
    if (why := bad_argument(argv)) is not None:
        print(f"benchmarks: {why}", file=sys.stderr)
        sys.exit(2)
    args = [a for a in argv if not a.startswith("--")]
    quick, as_json = "--quick" in argv, "--json" in argv
    for name in args:
        if name in MANUAL and not scratch:
            print(f"benchmarks: {name} needs --scratch DIR ({MANUAL[name]})", file=sys.stderr)
            sys.exit(2)
    results = []
    for name in args or CASES:
        print(f"benchmarks: {name} ...", file=sys.stderr, flush=True)
        results.append(run_case(name, quick, scratch))
    versions = library_versions()
    off = off_constraints(versions, pinned_versions())
    for r in results:
        r.setdefault("library_versions", versions)
        r.setdefault("off_constraints", off)
    if off:  # figures from other versions are not comparable with docs/BENCHMARKS.md
        print("benchmarks: not the versions in constraints.txt: " + ", ".join(off), file=sys.stderr)
    if as_json:
        print(json.dumps(results, indent=2))
        return
    print(f"machine: {machine()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
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
