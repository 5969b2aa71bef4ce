"""The `embedkit` group: every error one `error:` line with the exit code it calls for; a traceback only with --debug."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from embedkit._version import __version__
from embedkit.cli.progress import QUIET_KEY, interrupted_line
from embedkit.cli.signals import Terminated
from embedkit.errors import EmbedkitError, StoreBackendError, first_line
from embedkit.plugins import load_commands


def print_error(message: str) -> None:
    """`error: MESSAGE` on stderr, on one line whatever the message holds (markup and :emoji: shown as written)."""
    Console(stderr=True).print(f"[bold red]error:[/] {escape(one_line(message))}", highlight=False, emoji=False,
                               soft_wrap=True)


def one_line(message: str) -> str:
    """A message on one line. One re-raised from a DataLoader worker carries the worker's traceback: the
    original exception's own line is what it says."""
    if "\nOriginal Traceback" in message:
        last = message.strip().splitlines()[-1]
        message = last.split(": ", 1)[1] if ": " in last else last
    return " ".join(message.split())


def usage_line(error: click.UsageError) -> str:
    """Click's usage error without the usage and hint lines it prints around it, pointing to --help instead."""
    command = error.ctx.command_path if error.ctx is not None else "embedkit"
    return f"{error.format_message()} (`{command} --help` shows the options)"


def unexpected(error: Exception) -> tuple[str, int]:
    """What to tell about an exception embedkit did not raise on purpose: the failure of a store backend's library
    (the store raised StoreBackendError from it), else a bug."""
    if isinstance(error, StoreBackendError):
        if isinstance(error.__cause__, OSError):
            return describe(error.__cause__)  # a file of the store: told as any file is
        return f"{error}; `embedkit --debug ...` shows the traceback", error.exit_code
    return (f"unexpected {type(error).__name__}: {first_line(error)}; this is a bug in embedkit: `embedkit --debug "
            f"...` shows the traceback to report", EmbedkitError.exit_code)


class ErrorReportingGroup(click.Group):
    """Shows an EmbedkitError as one line and exits with its code; a traceback only with --debug."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as error:  # the group's own options (`embedkit --bogus`), before any --debug
            print_error(usage_line(error))
            sys.exit(error.exit_code)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError as error:  # `embedkit stack`: the group's help, as click shows it
            error.show()
            sys.exit(error.exit_code)
        except KeyboardInterrupt as error:
            Console(stderr=True).print(interrupted_line(ctx.meta), highlight=False, soft_wrap=True, markup=False)
            sys.exit(143 if isinstance(error, Terminated) else 130)
        except (click.exceptions.Abort, click.exceptions.Exit):
            raise  # click shows these itself
        except Exception as error:
            if ctx.meta.get("embedkit.debug") or (isinstance(error, click.ClickException)
                                                  and not isinstance(error, click.UsageError)):
                raise  # --debug shows the traceback; click shows its other exceptions in one line itself
            message, exit_code = describe(error)
            print_error(message)
            sys.exit(exit_code)


def describe(error: Exception) -> tuple[str, int]:
    """The one line and the exit code that tell the user about an error."""
    if isinstance(error, EmbedkitError) and not isinstance(error, StoreBackendError):
        return str(error), error.exit_code
    if isinstance(error, click.UsageError):  # click would print usage, a hint and the error on three lines
        return usage_line(error), error.exit_code
    if isinstance(error, OSError):  # a file the user named cannot be read or written
        where = f" {error.filename!r}" if error.filename else ""
        return f"{error.strerror or error}{where}", 1
    return unexpected(error)  # a bug, or a store backend's library failing: still one line


@click.group(cls=ErrorReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="embedkit")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("--quiet", is_flag=True,
              help="Show no progress of long jobs (shown on stderr: a bar in a terminal, else a line every 10 s).")
@click.pass_context
def main(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Embed images and text, store the vectors in Qdrant, measure retrieval quality."""
    ctx.meta["embedkit.debug"] = debug
    ctx.meta[QUIET_KEY] = quiet
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=debug)],
    )
    logging.getLogger("huggingface_hub").propagate = False  # it prints with a handler of its own: once, not twice
    logging.getLogger("embedkit.encoders.precision").setLevel(logging.INFO)  # which precision `auto` chose, and why


load_commands(main)
