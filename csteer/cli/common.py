"""Shared CLI plumbing: turn library errors into one-line messages and the documented exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from csteer.errors import CsteerError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> None:
    """Print one line to stderr and exit with `code`."""
    click.echo(f"csteer: error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Wrap a command: CsteerError -> one line + its exit code; Ctrl-C -> 130; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CsteerError as err:
            fail(str(err), err.exit_code)
        except KeyboardInterrupt:
            click.echo("csteer: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            # `csteer ... | head` closed the pipe: not an error worth a traceback.
            sys.stderr.close()
            sys.exit(0)

    return wrapper  # type: ignore[return-value]
