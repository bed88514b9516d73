"""`csteer quantize SRC --to gguf|onnx --quant Q --out PATH` and `csteer quantize verify REF CAND`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from csteer.cli.common import handle_errors
from csteer.quantize import GGUF_DEFAULT, ONNX_DEFAULT


class _ConvertByDefault(click.Group):
    """`csteer quantize SRC ...` runs `convert`; `csteer quantize verify ...` runs `verify`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["convert", *args]
        return super().parse_args(ctx, args)


@click.group("quantize", cls=_ConvertByDefault, context_settings={"help_option_names": ["-h", "--help"]})
def quantize() -> None:
    """Quantize a Hugging Face checkpoint to GGUF or ONNX, and verify the result.

    \b
    Examples:
      csteer quantize ./CodeSteer-v1 --to gguf --quant q4_k_m --out codesteer-q4_k_m.gguf
      csteer quantize ./CodeSteer-v1 --to onnx --quant int4 --out ./codesteer-onnx-int4
      csteer quantize verify ./CodeSteer-v1 codesteer-q4_k_m.gguf --json
    """


@quantize.command("convert")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--to", "fmt", type=click.Choice(["gguf", "onnx"]), required=True, help="Output format.")
@click.option(
    "--quant",
    help=f"gguf: f32 f16 q8_0 q4_k_m q5_k_m q6_k ... (default {GGUF_DEFAULT}); "
    f"onnx: fp32 fp16 int8 int4 (default {ONNX_DEFAULT}).",
)
@click.option("--out", type=click.Path(path_type=Path), help="Output file (gguf) or folder (onnx).")
@click.option(
    "--graph",
    type=click.Choice(["auto", "fused", "optimum"], case_sensitive=False),
    help="onnx only, default auto: fused (onnxruntime-genai's builder: fused attention and norms, faster on CPU; "
    "fp32 fp16 int4), optimum (traced export, every quant), auto (fused for Llama and Gemma 3 where "
    "the quant allows, else optimum).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@handle_errors
def convert(
    src: Path, fmt: str, quant: str | None, out: Path | None, graph: str | None, no_progress: bool
) -> None:
    """Convert the HF checkpoint folder SRC (safetensors) to GGUF or ONNX."""
    from csteer import quantize as q

    if fmt == "gguf":
        if graph is not None:
            from csteer.errors import UsageError

            raise UsageError("--graph is for --to onnx (a GGUF file has no graph to choose)")
        quant = (quant or GGUF_DEFAULT).lower()
        out = out or src.with_name(f"{src.name}-{quant}.gguf")
        result = q.to_gguf(src, out, quant, progress=not no_progress)
    else:
        quant = (quant or ONNX_DEFAULT).lower()
        out = out or src.with_name(f"{src.name}-onnx-{quant}")
        result = q.to_onnx(src, out, quant, graph=graph or "auto", progress=not no_progress)
    click.echo(str(result))


@quantize.command("verify")
@click.argument("reference", type=click.Path(path_type=Path))
@click.argument("candidate", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--sequences", default=4, show_default=True, help="Random token sequences to score.")
@click.option("--length", default=64, show_default=True, help="Tokens per random sequence.")
@handle_errors
def verify(reference: Path, candidate: Path, as_json: bool, sequences: int, length: int) -> None:
    """Compare CANDIDATE with REFERENCE (HF folder, GGUF file or ONNX folder) on the same tokens."""
    from csteer.errors import UsageError
    from csteer.quantize import verify as run

    if sequences < 0 or length < 2:
        raise UsageError("--sequences must be >= 0 and --length >= 2")
    report = run(reference, candidate, sequences=sequences, length=length)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"top-1 agreement  {report['top1_agreement']:.3f}  ({report['positions']} positions)")
    click.echo(f"mean KL          {report['mean_kl']:.4f} nats")
    click.echo(f"tokenizers match {'yes' if report['tokenizer_match'] else 'NO'}")
    for label in ("reference", "candidate"):
        side = report[label]
        ppl = f"{side['perplexity']:.2f}" if side["perplexity"] else "-"
        speed = f"{side['tokens_per_s']:.0f} tok/s" if side["tokens_per_s"] else "-"
        size = side["size_bytes"] / 1e6
        click.echo(
            f"{label:<10} {side['format']:<5} {size:9.1f} MB  ppl {ppl:>8}  {speed:>12}  {side['path']}"
        )
