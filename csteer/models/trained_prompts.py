"""The exact instruction texts the released CodeSteer-v1 coach was trained on, fetched as data.

The texts are the reference authors' wording, so csteer does not ship them: `csteer models pull
codesteer-v1` fetches `prompt.py` from the reference repository at a pinned commit, checks its sha256,
reads its string constants with `ast` (the file is never imported or executed) and stores them beside the
model. A module-level assignment of a plain string, or of an f-string made only of constant parts, is
accepted; anything else in the file (an import, a call, a name inside an f-string) refuses the file.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from csteer.errors import CsteerError, UsageError
from csteer.fileio import atomic_write_text
from csteer.paths import models_dir

REPO = "yongchao98/CodeSteer-v1.0"
COMMIT = "2a7750d85c569cdaacd0f7cf6da40c6cc2a9d058"
FILE = "prompt.py"
SHA256 = "5a332bd32c559ad3793e9adbafa3556d9f04b3931ca5476b5b417a05e8423f50"
# where raw files are served from; tests point this at a loopback server
BASE_URL_ENV = "CSTEER_REFERENCE_URL"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
STORED_NAME = "codesteer-v1.prompts.json"
MAX_BYTES = 1_000_000


def parse_constants(source: str, origin: str = FILE) -> dict[str, str]:
    """The module-level string constants of a Python source, read with `ast` (never executed)."""
    try:
        tree = ast.parse(source, filename=origin)
    except SyntaxError as err:
        raise UsageError(f"{origin}: not valid Python ({err.msg}, line {err.lineno})") from None
    constants: dict[str, str] = {}
    for index, node in enumerate(tree.body):
        if index == 0 and isinstance(node, ast.Expr) and _string_of(node.value) is not None:
            continue  # a module docstring
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            raise UsageError(f"{origin}, line {node.lineno}: only string assignments are read")
        target = node.targets[0]
        value = _string_of(node.value)
        if not isinstance(target, ast.Name) or value is None:
            raise UsageError(f"{origin}, line {node.lineno}: not a plain string constant")
        constants[target.id] = value
    return constants


def _string_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [p.value for p in node.values if isinstance(p, ast.Constant) and isinstance(p.value, str)]
        return "".join(parts) if len(parts) == len(node.values) else None
    return None


def stored_path() -> Path:
    return models_dir() / STORED_NAME


def url() -> str:
    base = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return f"{base.rstrip('/')}/{REPO}/{COMMIT}/{FILE}"


def fetch(timeout_s: float = 30.0) -> dict[str, Any]:
    """Download the pinned prompt.py, check its sha256, parse it and store the constants; the record."""
    import urllib.error
    import urllib.request

    where = url()
    try:
        with urllib.request.urlopen(where, timeout=timeout_s) as response:  # noqa: S310 (fixed https URL)
            data = response.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError) as err:
        raise CsteerError(f"cannot fetch {FILE} of {REPO}: {getattr(err, 'reason', err)}") from err
    digest = hashlib.sha256(data).hexdigest()
    if len(data) > MAX_BYTES or digest != SHA256:
        raise CsteerError(f"{FILE} of {REPO}@{COMMIT[:12]} has sha256 {digest[:16]}..., not the pinned one")
    record = {
        "source": f"github:{REPO}@{COMMIT}:{FILE}",
        "sha256": digest,
        "constants": parse_constants(data.decode("utf-8"), FILE),
    }
    path = stored_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return record


def load_stored() -> dict[str, Any] | None:
    """The stored record ({"source", "sha256", "constants"}), or None when it was never fetched."""
    path = stored_path()
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("constants"), dict):
        return None
    return record
