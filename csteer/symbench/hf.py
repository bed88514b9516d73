"""SymBench from the Hugging Face Hub (`yongchao98/SymBench`), read with the same loaders.

The dataset repository holds `dataset_gather/` in the original layout (plus training data we do not
need), so only that folder is downloaded into the huggingface_hub cache; later calls, and offline
runs (HF_HUB_OFFLINE=1), use the cached snapshot.
"""

from __future__ import annotations

from pathlib import Path

from csteer.errors import CsteerError
from csteer.symbench.base import Sample
from csteer.symbench.loader import load_samples

HF_REPO = "yongchao98/SymBench"
DATA_FOLDER = "dataset_gather"


def hf_dataset_root(
    *, revision: str | None = None, cache_dir: Path | None = None, local_files_only: bool = False
) -> Path:
    """The local `dataset_gather/` folder of the dataset, downloading it on first use.

    Raises a one-line CsteerError when it is neither cached nor downloadable.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    try:
        snapshot = snapshot_download(
            repo_id=HF_REPO,
            repo_type="dataset",
            revision=revision,
            cache_dir=str(cache_dir) if cache_dir else None,
            allow_patterns=[f"{DATA_FOLDER}/**"],
            local_files_only=local_files_only,
        )
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as exc:
        raise CsteerError(
            f"SymBench ({HF_REPO}) is not in the Hugging Face cache and the Hub cannot be reached; "
            "run once online, or pass --data DIR with a local copy"
        ) from exc
    except (HfHubHTTPError, OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CsteerError(
            f"cannot fetch SymBench ({HF_REPO}) from the Hugging Face Hub: {first_line}"
        ) from exc
    root = Path(snapshot) / DATA_FOLDER
    if not root.is_dir():
        raise CsteerError(f"the cached SymBench snapshot {snapshot} has no {DATA_FOLDER}/ folder")
    return root


def load_hf_samples(
    task_ids: list[str] | None = None,
    *,
    revision: str | None = None,
    cache_dir: Path | None = None,
    local_files_only: bool = False,
) -> dict[str, list[Sample]]:
    """task id -> samples, read from the Hugging Face copy of SymBench (see `load_samples`)."""
    root = hf_dataset_root(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only)
    return load_samples(root, task_ids)
