"""Format checks for model files: is this a complete GGUF, a loadable ONNX model, a whole HF checkpoint?

A sha256 only proves a file did not change since it was hashed; these checks prove it was whole to begin
with. The GGUF reader walks the header, every metadata pair and every tensor descriptor, then checks that
the file is long enough to hold the last tensor's data, so a truncated download is caught without loading
the model. This reader is used even when the `gguf` package is installed: it computes the exact byte
length a file must have (it matches the embedded model to the byte) and reads only the header, where
gguf.GGUFReader decodes every metadata array and took ~30 s on the 250 MB embedded model here.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from csteer.errors import CsteerError

GGUF_MAGIC = b"GGUF"
GGUF_DEFAULT_ALIGNMENT = 32

# GGUF metadata value types -> struct format (None = variable length: string, array)
_GGUF_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_GGUF_STRING, _GGUF_ARRAY = 8, 9

# ggml tensor type id -> (elements per block, bytes per block), from ggml's type traits.
_GGML_TYPES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 36),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
}


class FormatError(CsteerError):
    """The file is not a complete model of the format it claims to be."""


@dataclass
class FormatReport:
    format: str
    summary: str  # one line for `models info` / `verify`
    details: dict[str, Any] = field(default_factory=dict)


def detect_format(path: Path) -> str:
    """Guess a model's format from what is on disk: a GGUF file, an ONNX file/dir, or an HF checkpoint dir."""
    if path.is_dir():
        if any(path.glob("*.onnx")) or any(path.glob("*/*.onnx")):
            return "onnx"
        if (path / "config.json").is_file():
            return "hf"
        raise FormatError(f"{path}: a directory with neither *.onnx files nor an HF config.json")
    with path.open("rb") as fh:
        head = fh.read(4)
    if head == GGUF_MAGIC:
        return "gguf"
    if path.suffix == ".onnx":
        return "onnx"
    raise FormatError(f"{path}: not a GGUF file (magic {head!r}) and not an .onnx file")


def check_format(path: Path, fmt: str) -> FormatReport:
    if fmt == "gguf":
        return check_gguf(path)
    if fmt == "onnx":
        return check_onnx(path)
    if fmt == "hf":
        return check_hf(path)
    raise FormatError(f"unknown model format {fmt!r}")


def guess_kind(fmt: str, path: Path, details: dict[str, Any]) -> str:
    """instruct when the model ships a chat template, else base (few-shot completion prompts).

    `details` is the format report's (a GGUF's has_chat_template); ONNX and HF folders are read here."""
    if fmt == "gguf":
        return "instruct" if details.get("has_chat_template") else "base"
    folder = path if path.is_dir() else path.parent
    has_template = (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file()
    cfg = folder / "tokenizer_config.json"
    if cfg.is_file():
        try:
            has_template = has_template or bool(
                json.loads(cfg.read_text(encoding="utf-8")).get("chat_template")
            )
        except (OSError, ValueError):
            pass
    return "instruct" if has_template else "base"


# --- GGUF -------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, fh: BinaryIO, path: Path) -> None:
        self.fh, self.path = fh, path

    def take(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise FormatError(f"{self.path}: truncated GGUF header (file ends at byte {self.fh.tell()})")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > 1 << 30:  # a garbage length would otherwise make us read the whole file
            raise FormatError(f"{self.path}: corrupt GGUF string length {n}")
        return self.take(n).decode("utf-8", "replace")

    def value(self, vtype: int) -> Any:
        if vtype in _GGUF_SCALARS:
            return self.unpack(_GGUF_SCALARS[vtype])
        if vtype == _GGUF_STRING:
            return self.string()
        if vtype == _GGUF_ARRAY:
            item_type, count = self.unpack("<I"), self.unpack("<Q")
            if item_type in _GGUF_SCALARS:  # skip big arrays (token tables) without decoding them
                self.fh.seek(struct.calcsize(_GGUF_SCALARS[item_type]) * count, 1)
                return f"<array of {count}>"
            for _ in range(count):
                self.value(item_type)
            return f"<array of {count}>"
        raise FormatError(f"{self.path}: corrupt GGUF metadata (value type {vtype})")


def _read_gguf(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    with path.open("rb") as fh:
        r = _Reader(fh, path)
        if fh.read(4) != GGUF_MAGIC:
            raise FormatError(f"{path}: not a GGUF file (bad magic)")
        version = r.unpack("<I")
        if version not in (2, 3):
            raise FormatError(f"{path}: unsupported GGUF version {version}")
        n_tensors, n_kv = r.unpack("<Q"), r.unpack("<Q")
        if n_tensors > 1 << 20 or n_kv > 1 << 20:
            raise FormatError(f"{path}: corrupt GGUF header ({n_tensors} tensors, {n_kv} metadata keys)")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = r.string()
            meta[key] = r.value(r.unpack("<I"))
        data_end_needed = 0
        unknown_types: set[int] = set()
        for _ in range(n_tensors):
            r.string()  # tensor name
            n_dims = r.unpack("<I")
            if n_dims > 8:
                raise FormatError(f"{path}: corrupt GGUF tensor descriptor ({n_dims} dims)")
            elements = 1
            for _ in range(n_dims):
                elements *= r.unpack("<Q")
            ttype, offset = r.unpack("<I"), r.unpack("<Q")
            if ttype in _GGML_TYPES:
                block, block_bytes = _GGML_TYPES[ttype]
                nbytes = -(-elements // block) * block_bytes
            else:  # a type newer than this table: we can still check that its data starts in the file
                unknown_types.add(ttype)
                nbytes = 1
            data_end_needed = max(data_end_needed, offset + nbytes)
        if fh.tell() > size:  # seek() past the end does not fail by itself
            raise FormatError(f"{path}: truncated GGUF metadata")
        alignment = meta.get("general.alignment", GGUF_DEFAULT_ALIGNMENT)
        alignment = alignment if isinstance(alignment, int) and alignment > 0 else GGUF_DEFAULT_ALIGNMENT
        data_start = -(-fh.tell() // alignment) * alignment
    needed = data_start + data_end_needed
    if n_tensors and size < needed:
        raise FormatError(f"{path}: truncated GGUF: {size} bytes on disk, its tensors need {needed}")
    return {
        "version": version,
        "tensors": n_tensors,
        "metadata_keys": n_kv,
        "architecture": meta.get("general.architecture"),
        "name": meta.get("general.name"),
        "file_type": meta.get("general.file_type"),
        "has_chat_template": "tokenizer.chat_template" in meta,
        "bytes_needed": needed,
        "unknown_tensor_types": sorted(unknown_types),
    }


def check_gguf(path: Path) -> FormatReport:
    if not path.is_file():
        raise FormatError(f"{path}: no such GGUF file")
    info = _read_gguf(path)
    summary = (
        f"GGUF v{info['version']}, {info['architecture'] or 'unknown arch'}, "
        f"{info['tensors']} tensors, {info['metadata_keys']} metadata keys"
    )
    return FormatReport("gguf", summary, info)


# --- ONNX -------------------------------------------------------------------------------------------


def onnx_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.onnx") if p.is_file())


def check_onnx(path: Path) -> FormatReport:
    files = onnx_files(path) if path.exists() else []
    if not files:
        raise FormatError(f"{path}: no .onnx model found")
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    loaded: list[dict[str, Any]] = []
    for file in files:
        if ort is not None:
            opts = ort.SessionOptions()
            opts.log_severity_level = 3  # our one-line error says what failed; ORT's log would repeat it
            try:
                session = ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])
            except Exception as err:  # noqa: BLE001 - ORT raises several unrelated types for bad models
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise FormatError(f"{file}: onnxruntime cannot load it: {first}") from err
            loaded.append({"file": file.name, "inputs": [i.name for i in session.get_inputs()]})
            continue
        try:
            import onnx
        except ImportError as err:
            raise FormatError("cannot check ONNX models: install onnxruntime or onnx") from err
        try:
            onnx.checker.check_model(str(file))
        except Exception as err:  # noqa: BLE001
            raise FormatError(f"{file}: onnx.checker rejects it: {err}") from err
        loaded.append({"file": file.name})
    names = ", ".join(str(item["file"]) for item in loaded)
    return FormatReport("onnx", f"ONNX, {len(loaded)} graph(s) load on CPU: {names}", {"graphs": loaded})


# --- Hugging Face checkpoint ------------------------------------------------------------------------


def _check_safetensors(file: Path) -> int:
    """Return the tensor count; raise if the header is corrupt or the data runs past the end."""
    size = file.stat().st_size
    with file.open("rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise FormatError(f"{file}: truncated safetensors file")
        n = struct.unpack("<Q", raw)[0]
        if n > min(size, 100 << 20):
            raise FormatError(f"{file}: corrupt safetensors header length {n}")
        try:
            header = json.loads(fh.read(n))
        except ValueError as err:
            raise FormatError(f"{file}: corrupt safetensors header ({err})") from err
    header.pop("__metadata__", None)
    end = max((int(t["data_offsets"][1]) for t in header.values()), default=0)
    if size < 8 + n + end:
        raise FormatError(
            f"{file}: truncated safetensors: {size} bytes on disk, its tensors need {8 + n + end}"
        )
    return len(header)


def check_hf(path: Path) -> FormatReport:
    config_file = path / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise FormatError(f"{path}: no readable config.json ({err})") from err
    weights = sorted(path.glob("*.safetensors"))
    if not weights and not any(path.glob("*.bin")):
        raise FormatError(f"{path}: no weights (*.safetensors or *.bin) beside config.json")
    index = path / "model.safetensors.index.json"
    if index.is_file():  # every shard the index names must be present
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError) as err:
            raise FormatError(f"{index}: corrupt shard index ({err})") from err
        missing = sorted(s for s in shards if not (path / s).is_file())
        if missing:
            raise FormatError(f"{path}: missing weight shards: {', '.join(missing)}")
    tensors = sum(_check_safetensors(f) for f in weights)
    arch = config.get("model_type", "unknown arch")
    summary = f"HF checkpoint, {arch}, {len(weights)} safetensors file(s), {tensors} tensors"
    return FormatReport("hf", summary, {"model_type": arch, "tensors": tensors})
