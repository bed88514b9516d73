"""HF checkpoint -> GGUF: llama.cpp must compute what transformers computes, and tokenize the same way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from csteer.errors import CsteerError
from csteer.quantize import to_gguf

from .conftest import TEXTS

llama_cpp = pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")


def llama_logits(path: Path, ids: list[int]):
    import numpy as np

    llm = llama_cpp.Llama(str(path), n_ctx=256, logits_all=True, verbose=False)
    try:
        llm.eval(ids)
        return np.array(llm.scores[: len(ids)])
    finally:
        llm.close()


def agreement(path: Path, hf_logits, random_ids) -> tuple[float, float]:
    """(top-1 agreement, worst max-abs logit error relative to the logits' range) of llama.cpp vs transformers."""
    import numpy as np

    top1, rel = [], []
    for ids in random_ids:
        ours, ref = llama_logits(path, ids), hf_logits(ids)
        top1.append((ours.argmax(-1) == ref.argmax(-1)).mean())
        rel.append(np.abs(ours - ref).max() / np.abs(ref).max())
    return float(np.mean(top1)), float(np.max(rel))


# measured on the fixture: f16 1.00 / 0.001, q8_0 0.98 / 0.02, q4_k_m 0.87 / 0.11 (13 of its 22 tensors fall
# back to q5_0/q8_0: 128 columns are not a multiple of 256); any RoPE error below: at most 0.69 / at least 0.32
@pytest.mark.parametrize(
    ("quant", "min_top1", "max_rel_err"), [("f16", 0.99, 0.01), ("q8_0", 0.95, 0.05), ("q4_k_m", 0.8, 0.2)]
)
def test_llama_cpp_logits_agree_with_transformers(
    tiny_llama, tmp_path, hf_logits, random_ids, quant, min_top1, max_rel_err
):
    out = to_gguf(tiny_llama, tmp_path / f"tiny-{quant}.gguf", quant, progress=False)
    top1, rel_err = agreement(out, hf_logits, random_ids)
    assert top1 >= min_top1 and rel_err <= max_rel_err, (top1, rel_err)


def _rope_factors(transform):
    import csteer.quantize.arch.llama as arch

    real = arch.extra_tensors
    return lambda config: {name: transform(t) for name, t in real(config).items()}


def _theta(config_theta: float):
    import csteer.quantize.arch.llama as arch

    real = arch.write_common_hparams
    return lambda writer, config: real(writer, {**config, "rope_theta": config_theta})


# each is a real way to get RoPE wrong in a converter; each must be caught by the agreement bounds above
ROPE_BUGS = {
    "llama3 scaling dropped": ("extra_tensors", lambda: _rope_factors(lambda f: f * 0 + 1)),
    "factor on every band": ("extra_tensors", lambda: _rope_factors(lambda f: f * 0 + 8)),
    "factors inverted": ("extra_tensors", lambda: _rope_factors(lambda f: 1 / f)),
    "rope_theta 10000": ("write_common_hparams", lambda: _theta(10000.0)),
    "q/k rows not un-permuted": ("_unpermute", lambda: lambda w, n_head: w),
}


@pytest.mark.parametrize("bug", list(ROPE_BUGS))
def test_wrong_rope_fails_the_agreement_check(tiny_llama, tmp_path, hf_logits, random_ids, monkeypatch, bug):
    """Negative control: the same comparison with the rotary embedding converted wrongly must fail (by far)."""
    import csteer.quantize.arch.llama as arch

    attr, make = ROPE_BUGS[bug]
    monkeypatch.setattr(arch, attr, make())
    out = to_gguf(tiny_llama, tmp_path / "wrong-rope.gguf", "f16", progress=False)
    top1, rel_err = agreement(out, hf_logits, random_ids)
    assert top1 < 0.8 and rel_err > 0.2, (top1, rel_err)


def test_tokenization_matches_transformers(tiny_llama, tmp_path):
    from tokenizers import Tokenizer

    out = to_gguf(tiny_llama, tmp_path / "tiny.gguf", "f16", progress=False)
    hf = Tokenizer.from_file(str(tiny_llama / "tokenizer.json"))
    vocab = llama_cpp.Llama(str(out), vocab_only=True, verbose=False)
    for text in TEXTS:
        expected = hf.encode(text, add_special_tokens=False).ids
        assert vocab.tokenize(text.encode(), add_bos=False, special=True) == expected, text
    assert vocab.tokenize(b"hi", add_bos=True)[0] == 0  # BOS from tokenizer_config


def test_metadata_carries_rope_factors_template_and_specials(tiny_llama, tmp_path):
    import gguf
    import numpy as np

    out = to_gguf(tiny_llama, tmp_path / "tiny.gguf", "q8_0", progress=False)
    reader = gguf.GGUFReader(str(out))
    fields = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("tokenizer.ggml.token")}
    assert fields["general.architecture"] == "llama"
    assert fields["llama.attention.head_count_kv"] == 2
    assert fields["tokenizer.ggml.pre"] == "llama-bpe"
    assert fields["tokenizer.ggml.eos_token_id"] == 4
    assert "<|start_header_id|>" in fields["tokenizer.chat_template"]
    tensors = {t.name: t for t in reader.tensors}
    factors = np.asarray(tensors["rope_freqs.weight"].data)
    # high frequencies untouched, low ones divided by the full factor, a smooth band between
    assert factors[0] == pytest.approx(1.0) and factors[-1] == pytest.approx(8.0)
    assert any(1.0 < f < 8.0 for f in factors)
    assert tensors["blk.0.attn_q.weight"].tensor_type == gguf.GGMLQuantizationType.Q8_0
    assert tensors["blk.0.attn_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32


def test_k_quant_goes_through_llama_cpp(tiny_llama, tmp_path):
    out = to_gguf(tiny_llama, tmp_path / "tiny-q4km.gguf", "q4_k_m", progress=False)
    llm = llama_cpp.Llama(str(out), n_ctx=64, verbose=False)
    assert llm.metadata["general.file_type"] == str(int(llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M))
    assert not list(tmp_path.glob(".*"))  # the f16 intermediate is gone


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def test_unsupported_architecture_is_one_clear_error(tiny_llama, tmp_path):
    ckpt = _copy(tiny_llama, tmp_path / "mamba")
    config = json.loads((ckpt / "config.json").read_text())
    config["model_type"] = "mamba"
    (ckpt / "config.json").write_text(json.dumps(config))
    with pytest.raises(CsteerError, match="'mamba' is not supported.*llama"):
        to_gguf(ckpt, tmp_path / "x.gguf", "f16", progress=False)
    assert not (tmp_path / "x.gguf").exists()


def test_missing_files_are_clear_errors(tiny_llama, tmp_path):
    with pytest.raises(CsteerError, match="not a directory"):
        to_gguf(tmp_path / "nope", tmp_path / "x.gguf")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CsteerError, match="config.json is missing"):
        to_gguf(empty, tmp_path / "x.gguf")
    no_weights = _copy(tiny_llama, tmp_path / "noweights")
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(CsteerError, match="no \\*.safetensors"):
        to_gguf(no_weights, tmp_path / "x.gguf")
    with pytest.raises(CsteerError, match="unknown GGUF quantization"):
        to_gguf(tiny_llama, tmp_path / "x.gguf", "q3_banana")


def test_corrupt_safetensors_is_a_clear_error_and_writes_nothing(tiny_llama, tmp_path):
    ckpt = _copy(tiny_llama, tmp_path / "corrupt")
    weights = ckpt / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])  # truncated download
    with pytest.raises(CsteerError, match="corrupt safetensors"):
        to_gguf(ckpt, tmp_path / "x.gguf", "f16", progress=False)
    weights.write_bytes(b"\xff" * 64)  # garbage header length
    with pytest.raises(CsteerError, match="corrupt safetensors"):
        to_gguf(ckpt, tmp_path / "x.gguf", "f16", progress=False)
    assert not (tmp_path / "x.gguf").exists()


def test_cli_converts_and_reports_errors_in_one_line(tiny_llama, tmp_path):
    from csteer.cli.main import cli

    runner = CliRunner()
    out = tmp_path / "cli.gguf"
    ok = runner.invoke(
        cli, ["quantize", str(tiny_llama), "--to", "gguf", "--quant", "q8_0", "--out", str(out)]
    )
    assert ok.exit_code == 0, ok.output
    assert out.is_file() and str(out) in ok.output
    bad = runner.invoke(cli, ["quantize", str(tmp_path / "missing"), "--to", "gguf"])
    assert bad.exit_code == 1
    assert "Traceback" not in bad.output and bad.output.count("\n") == 1
    usage = runner.invoke(
        cli, ["quantize", str(tiny_llama), "--to", "gguf", "--quant", "zz", "--out", str(out)]
    )
    assert usage.exit_code == 2


def test_models_convert_to_gguf_defaults_to_q4_k_m(tiny_llama, tmp_path, monkeypatch):
    """`csteer models convert NAME --to gguf` without --quant once failed: "unknown GGUF quantization 'int4'"."""
    from csteer.cli.main import cli
    from csteer.models import store

    monkeypatch.setenv("CSTEER_HOME", str(tmp_path / "home"))
    store.import_model(tiny_llama, "tiny", fmt="hf")
    result = CliRunner().invoke(cli, ["models", "convert", "tiny", "--to", "gguf"])
    assert result.exit_code == 0, result.output
    entry = store.get("tiny-gguf-q4_k_m")
    assert entry.format == "gguf" and entry.verified
    assert entry.source == "converted from tiny (gguf q4_k_m)"
    llm = llama_cpp.Llama(str(entry.path), n_ctx=64, verbose=False)
    assert llm.metadata["general.file_type"] == str(int(llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M))
