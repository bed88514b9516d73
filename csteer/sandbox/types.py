"""Data types of the sandbox interface."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["ok", "error", "policy", "timeout", "memory", "output_limit", "killed"]


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 10.0  # wall clock
    cpu_s: int = 10
    memory_mb: int = 1024  # address space on top of what the (warm) interpreter already maps
    output_bytes: int = 64_000  # stdout and stderr each
    file_size_mb: int = 16
    open_files: int = 64
    disk_mb: int = 64  # the job's private tmpfs (/sandbox, /tmp, /dev/shm together)


@dataclass(frozen=True)
class Result:
    status: Status
    stdout: str
    stderr: str
    exit_code: int | None
    duration_s: float
    truncated: bool

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
