"""The original SymBench sample layout (`dataset_gather/`), shared by every task module.

Most tasks keep one sample per folder, `<data dir>/.../<sample>/question.txt` + `solution.json`;
`SampleFolderTask` loads and writes those. The tasks with a layout of their own (CSV rows, JSON files,
prompt/value files) use the same helpers for ordering folders, naming samples and picking free folders.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from csteer.fileio import atomic_write_text
from csteer.symbench.base import Sample, Task

QUESTION_FILE = "question.txt"
SOLUTION_FILE = "solution.json"

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[str | int, ...]:
    """Sort key in which runs of digits compare as numbers: "sample_9" before "sample_10"."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(_DIGITS.split(text)))


def iter_sample_dirs(root: Path, data_dirs: Iterable[str]) -> Iterator[Path]:
    """Every sample folder (one holding question.txt and solution.json) at any depth under
    root/<data dir>, data dirs in the order given, folders in natural order of their path."""
    for name in data_dirs:
        base = Path(root) / name
        if not base.is_dir():
            continue
        for question in sorted(base.rglob(QUESTION_FILE), key=lambda p: natural_key(str(p))):
            if question.is_file() and (question.parent / SOLUTION_FILE).is_file():
                yield question.parent


def read_sample(folder: Path) -> tuple[str, Any]:
    """The question text and the parsed solution.json of one sample folder."""
    question = (folder / QUESTION_FILE).read_text(encoding="utf-8")
    solution = json.loads((folder / SOLUTION_FILE).read_text(encoding="utf-8"))
    return question, solution


def write_sample_files(folder: Path, question: str, solution: Any) -> Path:
    """Write question.txt + solution.json (atomically) into `folder`; return the folder."""
    atomic_write_text(folder / QUESTION_FILE, question)
    atomic_write_text(folder / SOLUTION_FILE, json.dumps(solution, indent=2))
    return folder


def relative_id(path: Path, root: Path) -> str:
    """A sample id: the path relative to the dataset root, with forward slashes."""
    return Path(path).relative_to(root).as_posix()


def next_sample_dir(base: Path, prefix: str = "sample_") -> Path:
    """The first free `<prefix><N>` folder under `base` (created if missing)."""
    base.mkdir(parents=True, exist_ok=True)
    taken = {p.name for p in base.iterdir()}
    n = 0
    while f"{prefix}{n}" in taken:
        n += 1
    return base / f"{prefix}{n}"


def content_tag(text: str, length: int = 10) -> str:
    """A short stable hash of `text`: generated sample folders are named by content, so a seed
    always yields the same names and different samples never collide."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def new_sample_id(rng: random.Random) -> str:
    """A fresh `sample_<hex>` id drawn from the generator's RNG (so a seed names its samples)."""
    return f"sample_{rng.getrandbits(40):010x}"


class SampleFolderTask(Task):
    """A task stored one sample per folder: `<data dir>/.../<sample>/{question.txt,solution.json}`.

    Subclasses say how solution.json maps onto a Sample (`solution_key`, or their own `from_stored` /
    `to_stored`) and how samples are named (`folder_name_ids`).
    """

    # None: solution.json is the reference solution itself (meta comes from `from_stored`, usually
    # parsed from the question). A key: solution.json is a dict holding the reference solution under
    # that key; its other keys are the sample's meta.
    solution_key: ClassVar[str | None] = None
    # False: a sample's id is its folder's path below the dataset root ("cryptanalysis/sample_3") and a
    # written sample keeps its folder name. True: the id is the folder name alone ("sample_3"), only the
    # folders directly inside the first data dir are read, and a written sample takes the next free
    # sample_<N> folder there.
    folder_name_ids: ClassVar[bool] = False

    def from_stored(self, sample_id: str, question: str, data: Any) -> Sample:
        if self.solution_key is None:
            return Sample(self.id, sample_id, question, data)
        meta = {k: v for k, v in data.items() if k != self.solution_key}
        return Sample(self.id, sample_id, question, data.get(self.solution_key), meta)

    def to_stored(self, sample: Sample) -> Any:
        if self.solution_key is None:
            return sample.solution
        return {**sample.meta, self.solution_key: sample.solution}

    def load_dir(self, root: Path) -> Iterator[Sample]:
        if self.folder_name_ids:  # names are unique only among the folders of one data dir
            base = Path(root) / self.data_dirs[0]
            for folder in iter_sample_dirs(root, self.data_dirs[:1]):
                if folder.parent == base:
                    yield self.from_stored(folder.name, *read_sample(folder))
            return
        for folder in iter_sample_dirs(root, self.data_dirs):
            yield self.from_stored(relative_id(folder, root), *read_sample(folder))

    def write_sample(self, sample: Sample, out_dir: Path) -> Path:
        base = Path(out_dir) / self.data_dirs[0]
        folder = next_sample_dir(base) if self.folder_name_ids else base / Path(sample.id).name
        return write_sample_files(folder, sample.question, self.to_stored(sample))
