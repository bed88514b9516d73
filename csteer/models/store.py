"""The model store's public API in one namespace, for the CLI, `csteer doctor` and library users.

Nothing here is implemented; each name comes from the module that does that one job:
- registry: registry.json (locked, atomic rewrites), StoreEntry, list_models / get / lookup, names;
- staging: staged imports and pulls, commit (rename + register in one locked step), remove, leftovers;
- verify: re-hash and re-check one model, health() of the whole store;
- hashing: sha256 of files and folders, stat fingerprints, copy-and-hash;
- formats: GGUF / ONNX / HF checks and the base/instruct guess.
Modules inside csteer.models import those modules, never this one.
"""

from __future__ import annotations

from csteer.models.formats import guess_kind
from csteer.models.hashing import Progress, fingerprint, sha256_file, sha256_tree
from csteer.models.registry import (
    FORMATS,
    KINDS,
    StoreEntry,
    get,
    list_models,
    lookup,
    register,
    registry_path,
    validate_name,
)
from csteer.models.staging import commit, import_model, remove, staging, stale_partials, sweep_partials
from csteer.models.verify import VerifyResult, health, verify

__all__ = [
    "FORMATS",
    "KINDS",
    "Progress",
    "StoreEntry",
    "VerifyResult",
    "commit",
    "fingerprint",
    "get",
    "guess_kind",
    "health",
    "import_model",
    "list_models",
    "lookup",
    "register",
    "registry_path",
    "remove",
    "sha256_file",
    "sha256_tree",
    "stale_partials",
    "staging",
    "sweep_partials",
    "validate_name",
    "verify",
]
