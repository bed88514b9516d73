"""Fixtures of the server tests (the helpers are in support.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.serve.support import serving


@pytest.fixture
def scripted_server() -> Iterator[Callable[..., Any]]:
    """Factory: `url, service = scripted_server(assembly, api_key=..., max_queue=...)`."""
    from csteer.serve.app import create_app
    from csteer.serve.service import Service

    stack: list[Any] = []

    def start(assembly: Any, *, max_queue: int = 8, api_key: str | None = None, **app_options: Any) -> Any:
        service = Service.from_assemblies({"csteer": assembly}, max_queue=max_queue, log=False)
        cm = serving(create_app(service, api_key=api_key, **app_options))
        url = cm.__enter__()
        stack.append(cm)
        return url, service

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)
