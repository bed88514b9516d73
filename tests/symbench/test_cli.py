"""`csteer symbench`: list, generate, verify, selfcheck (in-process through click, and one real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from csteer.cli.symbench import symbench
from csteer.symbench.base import all_tasks


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(symbench, list(args), input=input)


def test_list_json_names_every_task() -> None:
    result = run("list", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert {r["id"] for r in rows} == set(all_tasks())
    nm = next(r for r in rows if r["id"] == "number_multiply")
    assert nm["split"] == "unseen" and nm["kind"] == "synthesized" and nm["description"]
    assert next(r for r in rows if r["id"] == "gsm_hard")["kind"] == "fixed"


def test_list_table() -> None:
    result = run("list")
    assert result.exit_code == 0 and "number_multiply" in result.output and "unseen" in result.output


def _generate(out: Path, task: str = "number_multiply", seed: str = "4") -> list[str]:
    result = run("generate", task, "--n", "3", "--complexity", "5", "--seed", seed, "--out", str(out))
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.splitlines() if line.strip()]


def test_generate_is_deterministic_and_readable_by_selfcheck(tmp_path: Path) -> None:
    first = _generate(tmp_path / "a")
    second = _generate(tmp_path / "b")
    assert len(first) == 3
    assert [Path(p).relative_to(tmp_path / "a") for p in first] == [
        Path(p).relative_to(tmp_path / "b") for p in second
    ]
    for a, b in zip(first, second, strict=True):
        assert (Path(a) / "input_value_list.txt").read_text() == (
            Path(b) / "input_value_list.txt"
        ).read_text()
    result = run("selfcheck", "--data", str(tmp_path / "a"), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "tasks": [{"task": "number_multiply", "total": 3, "accepted": 3, "rejected": []}]
    }


def test_verify_exit_codes(tmp_path: Path) -> None:
    folder = Path(_generate(tmp_path)[0])
    product = (folder / "target_answer.txt").read_text()
    good = run("verify", "number_multiply", "--sample", str(folder), "--answer", f"<<<{product}>>>")
    assert good.exit_code == 0 and good.output.startswith("correct:")
    bad = run("verify", "number_multiply", "--sample", str(folder), "--answer", f"<<<{product}0>>>")
    assert bad.exit_code == 1 and bad.output.startswith("incorrect:") and "not the product" in bad.output
    stdin = run("verify", "number_multiply", "--sample", str(folder), "--answer", "-", input=product)
    assert stdin.exit_code == 0


def test_verify_with_a_root_and_an_id(tmp_path: Path) -> None:
    bbh = tmp_path / "BIG-Bench-Hard" / "bbh"
    bbh.mkdir(parents=True)
    (bbh / "navigate.json").write_text(json.dumps({"examples": [{"input": "Take 1 step.", "target": "No"}]}))
    ok = run("verify", "navigation", "--sample", str(tmp_path), "--id", "navigate/0", "--answer", "<<<No>>>")
    assert ok.exit_code == 0, ok.output
    missing = run("verify", "navigation", "--sample", str(tmp_path), "--id", "navigate/9", "--answer", "No")
    assert missing.exit_code == 2 and "cannot find" in missing.output


def test_bad_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    for args in (
        ("generate", "nope", "--out", str(tmp_path)),
        ("generate", "gsm_hard", "--out", str(tmp_path)),
        ("generate", "letters", "--complexity", "99", "--out", str(tmp_path)),
        ("selfcheck", "--data", str(tmp_path / "missing")),
        ("verify", "letters", "--sample", str(tmp_path), "--answer", "x"),
    ):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_selfcheck_table_lists_rejections(tmp_path: Path) -> None:
    folder = Path(_generate(tmp_path)[0])
    (folder / "target_answer.txt").write_text("[bold]7")
    result = run("selfcheck", "--data", str(tmp_path))
    assert result.exit_code == 0
    assert "number_multiply" in result.output and "[bold]7" in result.output  # not eaten as markup


def _csteer(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "csteer", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_hf_offline_uses_the_cache_or_fails_in_one_line(tmp_path: Path) -> None:
    # a huggingface_hub cache laid out as snapshot_download leaves it
    cache = tmp_path / "hub"
    repo = cache / "datasets--yongchao98--SymBench"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot_data = repo / "snapshots" / commit / "dataset_gather"
    run("generate", "letters", "--n", "2", "--seed", "1", "--out", str(snapshot_data))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(tmp_path / "home")}
    cached = _csteer(["symbench", "selfcheck", "--hf", "--json"], env)
    assert cached.returncode == 0, cached.stderr
    assert json.loads(cached.stdout) == {
        "tasks": [{"task": "letters", "total": 2, "accepted": 2, "rejected": []}]
    }

    empty = {**env, "HF_HUB_CACHE": str(tmp_path / "empty")}
    offline = _csteer(["symbench", "selfcheck", "--hf"], empty)
    assert offline.returncode == 1
    assert offline.stderr.count("\n") == 1 and "not in the Hugging Face cache" in offline.stderr
