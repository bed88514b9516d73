"""Shared CLI plumbing: turn library errors into one-line messages and the documented exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from csteer.errors import CsteerError

if TYPE_CHECKING:
    from csteer.runtime.settings import RunSettings

PROFILE_NAMES = ("codesteer-v1", "self", "base-fewshot")  # csteer.runtime.prompts.PROFILES (tested)
# the click parameter of each model option -> the RunSettings field it sets
SETTING_OF_OPTION = {
    "model_spec": "model",
    "coach_spec": "coach",
    "max_turns": "max_turns",
    "candidates": "candidates",
    "temperature": "temperature",
    "task_kind": "task_kind",
    "coach_kind": "coach_kind",
    "profile": "profile",
    "profile_file": "profile_file",
    "coach_temperature": "coach_temperature",
    "coach_top_p": "coach_top_p",
    "coach_top_k": "coach_top_k",
    "task_max_tokens": "task_max_tokens",
    "code_timeout": "code_timeout",
    "n_ctx": "n_ctx",
    "threads": "threads",
    "gpu_layers": "gpu_layers",
}

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


def model_options(func: F) -> F:
    """The options every command that runs the steering loop shares (`csteer ask`, `csteer bench`):
    which models, how they are prompted and run, and the loop's budget."""
    options = [
        click.option(
            "-m",
            "--model",
            "model_spec",
            default=None,
            metavar="SPEC",
            help="Task model: embedded, gguf:PATH, onnx:DIR, openai:MODEL[@URL], ollama:MODEL, "
            "anthropic:MODEL, or a store name. Default: $CSTEER_MODEL, else the one set with "
            "`csteer models default`, else embedded.",
        ),
        click.option(
            "--coach",
            "coach_spec",
            default=None,
            metavar="SPEC",
            help="Steering model spec (same forms as --model). Default: $CSTEER_COACH, else "
            "`csteer models default --coach`, else embedded.",
        ),
        click.option(
            "--max-turns", type=int, default=5, show_default=True, help="Review turns after the first answer."
        ),
        click.option(
            "--candidates",
            type=int,
            default=None,
            metavar="K",
            help="Sample and vote: K attempts per code or text turn, the answer most of them agree on "
            "(1 = one greedy attempt). Default: 5 for a steered run with a local task model, else 1.",
        ),
        click.option(
            "--temperature",
            type=float,
            default=0.0,
            show_default=True,
            help="Sampling temperature of the task model (and of a coach whose profile sets none).",
        ),
        click.option(
            "--task-kind",
            type=click.Choice(["base", "instruct"]),
            default=None,
            help="Prompt style for the task model: base = few-shot completion. Default: from the "
            "catalog or the model's chat template for local models, instruct for remote ones.",
        ),
        click.option(
            "--coach-kind", type=click.Choice(["base", "instruct"]), default=None, help="Same, for the coach."
        ),
        click.option(
            "--profile",
            type=click.Choice(list(PROFILE_NAMES)),
            default=None,
            help="Coach prompt profile (default: from the coach model; codesteer-v1 for a coach named "
            "CodeSteer).",
        ),
        click.option(
            "--profile-file",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="A profile data file, or CodeSteer's prompt.py (its texts, read as data, for codesteer-v1).",
        ),
        click.option(
            "--coach-temperature",
            type=float,
            default=None,
            help="Coach sampling temperature (default: the profile's; codesteer-v1 0.95, else --temperature).",
        ),
        click.option(
            "--coach-top-p",
            type=float,
            default=None,
            help="Coach top-p (default: the profile's; codesteer-v1 0.7).",
        ),
        click.option(
            "--coach-top-k",
            type=int,
            default=None,
            help="Coach top-k (default: the profile's; codesteer-v1 50).",
        ),
        click.option(
            "--task-max-tokens",
            type=int,
            default=2000,
            show_default=True,
            help="Tokens each task-model reply may use.",
        ),
        click.option(
            "--timeout",
            "code_timeout",
            type=float,
            default=10.0,
            show_default=True,
            help="Seconds each generated program may run.",
        ),
        click.option(
            "--n-ctx", type=int, default=8192, show_default=True, help="Context size of local models."
        ),
        click.option(
            "--threads",
            type=int,
            default=None,
            help="CPU threads for local models (default: idle physical cores).",
        ),
        click.option(
            "--gpu-layers",
            type=int,
            default=None,
            help="Layers to offload to the GPU (default: all, when available).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def run_settings(options: dict[str, Any], **extra: Any) -> RunSettings:
    """The RunSettings of a command: the shared model options (removed from `options`) plus `extra`.
    Validation happens once, in RunSettings itself (a UsageError: one line, exit 2)."""
    from csteer.models.defaults import current
    from csteer.runtime.settings import RunSettings

    values = {setting: options.pop(option) for option, setting in SETTING_OF_OPTION.items()}
    for role in ("model", "coach"):  # not named on the command line: the user's default
        if values[role] is None:
            values[role] = current(role).spec
    return RunSettings(**values, **extra)


def policy_option(help_text: str) -> Callable[[F], F]:
    """`--policy`, one of the policy table's names (`csteer ask`, `csteer serve`)."""
    from csteer.runtime.policies import POLICY_NAMES

    return click.option(
        "--policy", type=click.Choice(POLICY_NAMES), default="codesteer", show_default=True, help=help_text
    )
