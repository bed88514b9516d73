"""One-line errors for the remote engines. The openai and anthropic SDKs are generated from the same
template and raise exception classes with the same names, so one mapping serves both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from csteer.errors import CsteerError


@contextmanager
def sdk_errors(sdk: ModuleType, where: str, model: str, key_env: str) -> Iterator[None]:
    """Turn what the SDK raises after its own bounded retries into a CsteerError naming `where`."""
    try:
        yield
    except sdk.APIConnectionError as err:
        raise CsteerError(f"cannot reach {where}: {_cause(err)}") from err
    except sdk.AuthenticationError as err:
        raise CsteerError(f"{where} rejected the key (set {key_env})") from err
    except sdk.NotFoundError as err:
        raise CsteerError(f"{where} has no model {model!r}") from err
    except sdk.APIStatusError as err:
        raise CsteerError(f"{where} answered HTTP {err.status_code}: {short(err.message)}") from err
    except sdk.APIError as err:
        raise CsteerError(f"{where} failed: {short(str(err))}") from err


def _cause(err: BaseException) -> str:
    root = err
    while root.__cause__ is not None:
        root = root.__cause__
    return short(str(root) or type(root).__name__)


def short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
