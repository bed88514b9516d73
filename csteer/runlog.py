"""The run log: one SQLite row per `csteer ask`, in csteer.paths.runlog_path() (CSTEER_HOME/runs.db).

SQLite in WAL mode lets several csteer processes append at once (a bench and an interactive ask):
writers queue on the database lock (busy timeout) instead of failing, and readers never block them.
Each call opens its own short-lived connection, so nothing here is shared between threads or processes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from csteer.errors import CsteerError, UsageError
from csteer.paths import runlog_path

BUSY_TIMEOUT_S = 30.0
SCHEMA_VERSION = 1

COLUMNS: dict[str, str] = {
    "question": "TEXT NOT NULL",
    "task_model": "TEXT",
    "coach_model": "TEXT",
    "policy": "TEXT",
    "turns": "TEXT",  # JSON list of turn records
    "answer": "TEXT",
    "task_tokens": "INTEGER",
    "coach_tokens": "INTEGER",
    "seconds": "REAL",
    "exit_status": "INTEGER",
    "created_at": "TEXT NOT NULL",
    "extra": "TEXT",  # JSON object: record keys this schema has no column for
}

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    + ", ".join(f"{name} {decl}" for name, decl in COLUMNS.items())
    + ")"
)


def db_path() -> Path:
    return runlog_path()


def _retry_locked(action: Any, attempts: int = 50) -> Any:
    """Switching to WAL needs a moment of exclusive access, which does not wait on the busy handler."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))
    return None


@contextmanager
def _connect() -> Iterator[sqlite3.Connection]:
    path = db_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except (OSError, sqlite3.Error) as err:
        raise CsteerError(f"cannot open the run log {path}: {err}") from err
    with closing(conn):
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if _retry_locked(lambda: conn.execute("PRAGMA journal_mode").fetchone()[0]) != "wal":
                _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across app crashes
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                _retry_locked(lambda: _create_schema(conn))
            yield conn
        except sqlite3.DatabaseError as err:
            raise CsteerError(f"the run log {path} is unusable: {err}") from err


def _create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def _row_values(record: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(record.get("question"), str):
        raise UsageError("a run record needs a 'question' string")
    values: dict[str, Any] = {name: record.get(name) for name in COLUMNS if name != "extra"}
    values["turns"] = json.dumps(record.get("turns") or [], default=str, ensure_ascii=False)
    values["created_at"] = record.get("created_at") or _now()
    extra = {k: v for k, v in record.items() if k not in COLUMNS}
    values["extra"] = json.dumps(extra, default=str, ensure_ascii=False) if extra else None
    return values


def log_run(record: dict[str, Any]) -> int:
    """Append one run; return its id. Keys without a column are kept in `extra` (JSON)."""
    values = _row_values(record)
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    with _connect() as conn:
        cur = conn.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", tuple(values.values()))
        return int(cur.lastrowid or 0)


def _to_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["turns"] = json.loads(data["turns"]) if data.get("turns") else []
    extra = json.loads(data.pop("extra")) if data.get("extra") else {}
    data.update({k: v for k, v in extra.items() if k not in data})
    return data


def list_runs(n: int = 20) -> list[dict[str, Any]]:
    """The `n` most recent runs, newest first."""
    if not db_path().exists():
        return []
    with _connect() as conn:
        rows = conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (max(0, n),)).fetchall()
    return [_to_dict(row) for row in rows]


def get_run(run_id: int) -> dict[str, Any] | None:
    if not db_path().exists():
        return None
    with _connect() as conn:
        row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    return _to_dict(row) if row else None


def count_runs() -> int:
    if not db_path().exists():
        return 0
    with _connect() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
