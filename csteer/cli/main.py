"""The `csteer` command group.

Subcommands live in their own modules and are imported only when invoked, so `csteer --help`
and `csteer ask` with a remote model do not pay for llama_cpp, onnxruntime or torch imports.
"""

from __future__ import annotations

import importlib
import sys

import click

from csteer import __version__

# command name -> (module, attribute, one-line help shown by `csteer --help`)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "ask": ("csteer.cli.ask", "ask", "Answer a question with a steered task model."),
    "bench": ("csteer.cli.bench", "bench", "Run SymBench for one or more methods and report."),
    "symbench": ("csteer.cli.symbench", "symbench", "List, generate, verify and selfcheck SymBench tasks."),
    "sandbox": ("csteer.cli.sandbox", "sandbox", "Run untrusted code in the restricted sandbox."),
    "models": ("csteer.cli.models", "models", "Manage the local model store."),
    "quantize": ("csteer.cli.quantize", "quantize", "Quantize a checkpoint to GGUF or ONNX."),
    "doctor": ("csteer.cli.doctor", "doctor", "Check the installation: engines, GPU, sandbox, models."),
    "logs": ("csteer.cli.logs", "logs", "Browse the log of past `csteer ask` runs."),
    "serve": ("csteer.cli.serve", "serve", "Serve steered answers on an OpenAI-compatible API."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (module, _, _) in SUBCOMMANDS.items() if _module_exists(module))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        module_name, attr, short_help = SUBCOMMANDS[cmd_name]
        if ctx.resilient_parsing or _listing_help():
            # `csteer --help` only needs the one-line help: avoid importing the module.
            return click.Command(cmd_name, short_help=short_help, help=short_help)
        module = importlib.import_module(module_name)
        command: click.Command = getattr(module, attr)
        return command


def _listing_help() -> bool:
    args = sys.argv[1:]
    return bool(args) and args[0] in ("--help", "-h")


def _module_exists(module_name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="csteer")
def cli() -> None:
    """csteer - a local runtime for CodeSteer.

    A small steering model coaches a task model to switch between textual reasoning and
    writing Python; the code runs in a sandbox, and checkers feed the coach.

    \b
    Examples:
      echo "What is 48271 * 91433?" | csteer ask
      csteer ask -m ollama:qwen2.5:7b --coach embedded "How many r's in strawberry?"
      csteer symbench list
      csteer sandbox check
    """


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
