from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from csteer import doctor


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "csteer-home"
    monkeypatch.setenv("CSTEER_HOME", str(path))
    return path


def _doctor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "csteer", "doctor", *args], capture_output=True, text=True, timeout=300
    )


def test_doctor_reports_engines_sandbox_and_store() -> None:
    result = _doctor("--json")
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    for name in (
        "python",
        "packages",
        "llama.cpp",
        "gpu offload",
        "onnxruntime",
        "cuda",
        "sandbox",
        "model store",
    ):
        assert name in checks
    assert all(c["status"] in ("ok", "warn", "fail") for c in checks.values())
    assert "llama-cpp-python" in checks["llama.cpp"]["detail"]
    assert "CPUExecutionProvider" in checks["onnxruntime"]["detail"]
    assert checks["sandbox"]["status"] == "ok"
    assert "sandbox layers" in checks


def test_doctor_without_a_gpu_says_why() -> None:
    import llama_cpp

    if shutil.which("nvidia-smi") or llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this machine has a GPU or a GPU-enabled llama.cpp")
    checks = {c["name"]: c for c in json.loads(_doctor("--json").stdout)}
    offload = checks["gpu offload"]
    assert offload["status"] == "warn"
    assert "no GPU backend" in offload["detail"] and "no GPU found" in offload["detail"]
    assert offload["hint"]
    assert checks["cuda"]["status"] == "warn" and "nvidia-smi not found" in checks["cuda"]["detail"]


def test_doctor_text_output_and_exit_code_on_failure(home: Path) -> None:
    text = _doctor()
    assert text.returncode == 0
    assert any(line.startswith("[ok  ] llama.cpp") for line in text.stdout.splitlines())
    registry = home / "models" / "registry.json"
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_text("{broken")
    failed = _doctor()
    assert failed.returncode == 1
    assert any(line.startswith("[FAIL] model store") for line in failed.stdout.splitlines())
    assert "1 check(s) failed: model store" in failed.stderr


def test_tiny_onnx_model_runs_on_cpu() -> None:
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(doctor.tiny_onnx_model(), providers=["CPUExecutionProvider"])
    out = session.run(None, {"X": np.array([1.5, -2.0], dtype=np.float32)})[0]
    assert out.tolist() == [3.0, -4.0]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        code = 200 if self.headers.get("Authorization") == "Bearer good" else 401
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_network_checks_against_a_local_server(server: str) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    base = {"HF_HUB_OFFLINE": "1"}
    good = doctor.check_network(2, {**base, "OPENAI_BASE_URL": server, "OPENAI_API_KEY": "good"})
    by_name = {c.name: c for c in good}
    assert by_name["net openai"].status == "ok" and "HTTP 200" in by_name["net openai"].detail
    bad_key = {
        c.name: c for c in doctor.check_network(2, {**base, "OPENAI_BASE_URL": server, "OPENAI_API_KEY": "x"})
    }
    assert bad_key["net openai"].status == "warn" and "401" in bad_key["net openai"].detail
    down = {
        c.name: c for c in doctor.check_network(2, {**base, "OPENAI_BASE_URL": dead, "OLLAMA_BASE_URL": dead})
    }
    assert down["net openai"].status == "fail" and down["net openai"].hint
    assert down["net ollama"].status == "fail"  # configured explicitly, so unreachable is a failure
    default = {c.name: c for c in doctor.check_network(2, {**base, "OLLAMA_BASE_URL": ""})}
    assert "net openai" not in default  # nothing configured: not checked


def test_layer_probe_results_are_normalized() -> None:
    rows = doctor._layer_rows(
        {"rlimits": True, "netns": {"active": False, "reason": "no userns"}, "policy": "on"}
    )
    assert rows == [("rlimits", True, ""), ("netns", False, "no userns"), ("policy", None, "on")]

    class Layer:
        def __init__(self, name: str, active: bool, detail: str) -> None:
            self.name, self.active, self.detail = name, active, detail

    assert doctor._layer_rows([Layer("seccomp", False, "kernel too old")]) == [
        ("seccomp", False, "kernel too old")
    ]
    as_dicts = [
        {"name": "rlimits", "active": True, "detail": "setrlimit"},
        {"name": "seccomp", "active": False},
    ]
    assert doctor._layer_rows(as_dicts) == [("rlimits", True, "setrlimit"), ("seccomp", False, "")]


def test_sandbox_layers_come_from_the_sandbox_probe() -> None:
    from csteer import sandbox

    if not hasattr(sandbox, "probe_layers"):
        pytest.skip("this sandbox has no layer probe")
    layers = {layer["name"] for layer in sandbox.probe_layers()}
    checks = {c.name: c for c in doctor.check_sandbox()}
    detail = checks["sandbox layers"].detail
    assert layers and all(name in detail for name in layers)


def test_gpu_present_but_unused_is_a_warning_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No GPU here, so nvidia-smi is a stand-in script printing what a one-GPU machine prints."""
    import llama_cpp
    import onnxruntime as ort

    if llama_cpp.llama_supports_gpu_offload() or "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("GPU-enabled builds: the warning branches do not apply")
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho '0, NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    devices, reason = doctor.nvidia_devices()
    assert devices == ["0, NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15"] and reason == ""
    assert doctor.check_cuda(devices, reason).status == "ok"
    offload = {c.name: c for c in doctor.check_llama_cpp(devices)}["gpu offload"]
    assert offload.status == "warn" and "GGML_CUDA=on" in offload.hint
    onnx = doctor.check_onnxruntime(devices)
    assert onnx.status == "warn" and "onnxruntime-gpu" in onnx.hint


def test_doctor_names_the_default_models_and_one_that_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSTEER_COACH", raising=False)
    monkeypatch.delenv("CSTEER_MODEL", raising=False)
    fine = doctor.check_defaults()
    assert fine.status == "ok" and fine.detail == "task model embedded (built-in); coach embedded (built-in)"
    monkeypatch.setenv("CSTEER_MODEL", "gone-model")
    broken = doctor.check_defaults()
    assert broken.status == "fail" and "not in the store: gone-model" in broken.detail
    assert broken.hint == "csteer models pull gone-model, or unset CSTEER_MODEL"
    monkeypatch.setenv("CSTEER_MODEL", "openai:x@http://127.0.0.1:9/v1")  # a spec, not a store name
    assert doctor.check_defaults().status == "ok"
