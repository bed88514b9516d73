"""Compare a quantized model with its reference: next-token agreement, KL, perplexity, size and speed.

Both models score the same token ids: seeded random sequences (format-independent, exercises every
position of the rope range) and a short text set tokenized by the reference (perplexity). Any of the
three formats may be on either side: an HF checkpoint folder, a GGUF file or an ONNX folder.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from csteer.errors import CsteerError

TEXTS = (
    "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "To multiply 48271 by 91433, write a short Python program and print the product.",
    "The steering model reads the task model's answer and decides whether code or text suits the task.",
    "Question: Alice has 3 apples and buys 5 more. How many apples does she have? Answer: 8.",
    "import itertools\nfor perm in itertools.permutations([1, 2, 3]):\n    print(perm)\n",
)


class ScoredModel:
    """One model behind a tiny interface: tokenize text, return logits for a token sequence."""

    fmt = ""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def size_bytes(self) -> int:
        if self.path.is_file():
            return self.path.stat().st_size
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def tokenize(self, text: str) -> list[int]:
        raise NotImplementedError

    def logits(self, ids: list[int]) -> Any:  # np.ndarray [len(ids), vocab] float32
        raise NotImplementedError

    def close(self) -> None:
        pass


class HFModel(ScoredModel):
    fmt = "hf"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        try:
            import torch
            from transformers import AutoModelForCausalLM
        except ImportError as err:
            raise CsteerError(
                "verifying an HF checkpoint needs torch and transformers: pip install 'csteer[quantize]'"
            ) from err
        from tokenizers import Tokenizer

        self.torch = torch
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))

    @property
    def vocab_size(self) -> int:
        return int(self.model.get_output_embeddings().weight.shape[0])

    def tokenize(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def logits(self, ids: list[int]) -> Any:
        with self.torch.no_grad():
            return self.model(self.torch.tensor([ids])).logits[0].float().numpy()


class GGUFModel(ScoredModel):
    fmt = "gguf"

    def __init__(self, path: Path, n_ctx: int) -> None:
        super().__init__(path)
        import llama_cpp

        from csteer.engines.llamacpp import check_gguf_file

        check_gguf_file(str(path))
        from csteer.engines.llamacpp import quiet_llama_logs

        quiet_llama_logs(False)  # llama.cpp prints some notices even with verbose=False
        self.llm = llama_cpp.Llama(str(path), n_ctx=n_ctx, n_batch=n_ctx, logits_all=True, verbose=False)

    @property
    def vocab_size(self) -> int:
        return int(self.llm.n_vocab())

    def tokenize(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)

    def logits(self, ids: list[int]) -> Any:
        import numpy as np

        self.llm.reset()
        self.llm.eval(ids)
        return np.array(self.llm.scores[: len(ids)], dtype=np.float32)

    def close(self) -> None:
        self.llm.close()


class OnnxModel(ScoredModel):
    fmt = "onnx"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        from csteer.engines.onnx import OnnxEngine

        self.engine = OnnxEngine(path, kind="base")
        self.path = self.engine.model_file.parent

    @property
    def vocab_size(self) -> int:
        shape = self.engine.session.get_outputs()[self.engine.output_names.index("logits")].shape
        if isinstance(shape[-1], int):
            return shape[-1]
        return int(self.engine.logits_of([0]).shape[-1])

    def tokenize(self, text: str) -> list[int]:
        return self.engine.tokenizer.encode(text, add_special_tokens=True).ids

    def logits(self, ids: list[int]) -> Any:
        return self.engine.logits_of(ids)

    def close(self) -> None:
        self.engine.close()


def load_model(path: str | Path, n_ctx: int = 256) -> ScoredModel:
    """Pick the loader from what is on disk: a .gguf file, a folder with *.onnx, or an HF folder."""
    p = Path(path).expanduser()
    if p.is_file():
        with p.open("rb") as fh:
            magic = fh.read(4)
        if magic == b"GGUF":
            return GGUFModel(p, n_ctx)
        if p.suffix == ".onnx":
            return OnnxModel(p)
        raise CsteerError(f"{p}: neither a GGUF file nor an ONNX model")
    if not p.is_dir():
        raise CsteerError(f"model not found: {p}")
    if any(p.glob("*.onnx")):
        return OnnxModel(p)
    if (p / "config.json").is_file() and any(p.glob("*.safetensors")):
        from csteer.quantize.checkpoint import open_checkpoint

        open_checkpoint(p)  # clear errors for corrupt or missing weight files before transformers sees them
        return HFModel(p)
    raise CsteerError(f"{p}: not an HF checkpoint (config.json + safetensors), ONNX folder or GGUF file")


def _log_softmax(np: Any, x: Any) -> Any:
    x = x.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _timed_logits(model: ScoredModel, ids: list[int], clock: dict[str, float]) -> Any:
    start = time.perf_counter()
    out = model.logits(ids)
    clock["seconds"] += time.perf_counter() - start
    clock["tokens"] += len(ids)
    return out


def verify(
    reference: str | Path,
    candidate: str | Path,
    *,
    sequences: int = 4,
    length: int = 64,
    seed: int = 0,
    texts: tuple[str, ...] = TEXTS,
) -> dict[str, Any]:
    """Score both models on the same ids; returns top1_agreement, mean_kl, perplexities, sizes, speeds."""
    import numpy as np

    n_ctx = max(length, 256) + 8
    ref = load_model(reference, n_ctx)
    try:
        cand = load_model(candidate, n_ctx)
    except BaseException:
        ref.close()
        raise
    try:
        vocab = min(ref.vocab_size, cand.vocab_size)
        rng = np.random.default_rng(seed)
        batches = [rng.integers(0, vocab, size=length).tolist() for _ in range(sequences)]
        text_ids = [ref.tokenize(t)[:length] for t in texts]
        tokenizer_match = all(ref.tokenize(t) == cand.tokenize(t) for t in texts)
        clocks = {"ref": {"seconds": 0.0, "tokens": 0}, "cand": {"seconds": 0.0, "tokens": 0}}
        agree: list[bool] = []
        kls: list[float] = []
        nll: dict[str, list[float]] = {"ref": [], "cand": []}
        for i, ids in enumerate(batches + text_ids):
            a = _log_softmax(np, _timed_logits(ref, ids, clocks["ref"])[:, :vocab])
            b = _log_softmax(np, _timed_logits(cand, ids, clocks["cand"])[:, :vocab])
            agree.extend((a.argmax(-1) == b.argmax(-1)).tolist())
            kls.extend((np.exp(a) * (a - b)).sum(-1).tolist())
            if i >= len(batches) and len(ids) > 1:  # perplexity on real text only
                targets = np.asarray(ids[1:])
                nll["ref"].extend((-a[np.arange(len(targets)), targets]).tolist())
                nll["cand"].extend((-b[np.arange(len(targets)), targets]).tolist())

        def side(model: ScoredModel, key: str) -> dict[str, Any]:
            clock = clocks[key]
            return {
                "path": str(model.path),
                "format": model.fmt,
                "size_bytes": model.size_bytes,
                "perplexity": math.exp(float(np.mean(nll[key]))) if nll[key] else None,
                "tokens_per_s": clock["tokens"] / clock["seconds"] if clock["seconds"] else None,
            }

        return {
            "top1_agreement": float(np.mean(agree)),
            "mean_kl": float(np.mean(kls)),
            "positions": len(agree),
            "tokenizer_match": tokenizer_match,
            "reference": side(ref, "ref"),
            "candidate": side(cand, "cand"),
            "size_ratio": cand.size_bytes / ref.size_bytes if ref.size_bytes else None,
        }
    finally:
        cand.close()
        ref.close()
