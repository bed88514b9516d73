"""Errors that reach the user as one line (the CLI prints ``str(err)`` and exits with ``exit_code``)."""

from __future__ import annotations


class CsteerError(Exception):
    """A failure the user can act on: model missing, server unreachable, bad file. Exit code 1."""

    exit_code = 1


class UsageError(CsteerError):
    """Bad arguments or input. Exit code 2, like click's own usage errors."""

    exit_code = 2


class NoAnswerError(CsteerError):
    """The steering loop ended without an answer. Exit code 3."""

    exit_code = 3
