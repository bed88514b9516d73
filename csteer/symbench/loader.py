"""Read and write SymBench samples in the original `dataset_gather/` layout, through each task's own
`load_dir` / `write_sample`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from csteer.errors import CsteerError, UsageError
from csteer.symbench.base import Sample, Task, all_tasks, get_task

LoadErrorHandler = Callable[[str, Exception], None]


def resolve_tasks(task_ids: list[str] | None) -> dict[str, Task]:
    """The tasks named (all registered ones for None), in registry order; unknown ids are a UsageError."""
    if task_ids is None:
        return all_tasks()
    return {task_id: get_task(task_id) for task_id in task_ids}


def check_root(root: Path) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UsageError(f"data folder {str(root)!r} does not exist or is not a folder")
    return root


def load_task(task: Task, root: Path) -> list[Sample]:
    """Every sample of one task under `root`; a corrupt file becomes a one-line CsteerError."""
    try:
        return list(task.load_dir(root))
    except NotImplementedError:
        return []
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise CsteerError(
            f"{task.id}: cannot load samples under {root}: {type(exc).__name__}: {exc}"
        ) from exc


def load_samples(
    root: Path, task_ids: list[str] | None = None, on_error: LoadErrorHandler | None = None
) -> dict[str, list[Sample]]:
    """task id -> its samples under `root`. Tasks with no data there are left out.

    With `on_error`, a task whose data cannot be read is reported to it (task id, error) and skipped;
    without, the error is raised.
    """
    root = check_root(root)
    found: dict[str, list[Sample]] = {}
    for task_id, task in resolve_tasks(task_ids).items():
        try:
            samples = load_task(task, root)
        except CsteerError as exc:
            if on_error is None:
                raise
            on_error(task_id, exc)
            continue
        if samples:
            found[task_id] = samples
    return found


def write_samples(task_id: str, samples: Iterable[Sample], out_dir: Path) -> list[Path]:
    """Write samples of one task in the original layout under `out_dir` (a dataset_gather-style root)."""
    task = get_task(task_id)
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    return [task.write_sample(sample, out_dir) for sample in samples]
