"""Find one sample from a path on disk: its folder (or file), or a dataset root plus an id."""

from __future__ import annotations

from pathlib import Path

from csteer.errors import UsageError
from csteer.symbench.base import Sample, Task
from csteer.symbench.loader import load_task

MAX_LEVELS_UP = 8


def dataset_root_of(task: Task, path: Path) -> Path | None:
    """The dataset root above `path`: the nearest folder that holds one of the task's data dirs
    on the way down to `path` (or `path` itself when it is such a root)."""
    path = path.resolve()
    for candidate in [path, *list(path.parents)[:MAX_LEVELS_UP]]:
        for data_dir in task.data_dirs:
            top = candidate / data_dir
            if top == path or top in path.parents or (path == candidate and top.exists()):
                return candidate
    return None


def _matches(sample_id: str, rel: Path) -> bool:
    rel_text = rel.as_posix()
    return sample_id in (rel_text, rel.with_suffix("").as_posix())


def find_sample(task: Task, path: Path, sample_id: str | None = None) -> Sample:
    """The sample of `task` at `path` (a sample folder/file), or with id `sample_id` under the root
    above `path`. A UsageError says what was looked for when nothing matches."""
    root = dataset_root_of(task, Path(path))
    if root is None:
        raise UsageError(
            f"{str(path)!r} is not inside a {task.id} data folder (one of {', '.join(task.data_dirs)})"
        )
    samples = load_task(task, root)
    if sample_id is not None:
        found = [s for s in samples if s.id == sample_id]
    else:
        resolved = Path(path).resolve()
        rels = [resolved.relative_to(root)]
        rels += [resolved.relative_to(root / d) for d in task.data_dirs if (root / d) in resolved.parents]
        found = [s for s in samples if any(_matches(s.id, rel) for rel in rels)]
        if not found:  # ids that name only the sample folder
            found = [s for s in samples if Path(s.id).name == resolved.name]
    if len(found) != 1:
        what = f"id {sample_id!r}" if sample_id else f"the sample at {str(path)!r}"
        detail = "found none" if not found else f"found {len(found)}; pass --id"
        raise UsageError(f"{task.id}: cannot find {what} under {root} ({detail})")
    return found[0]
