"""The `embedkit` command: a thin click layer over the Python API."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler

from embedkit._version import __version__
from embedkit.errors import EmbedkitError
from embedkit.plugins import load_commands


class ErrorReportingGroup(click.Group):
    """Shows an EmbedkitError as one line and exits with its code; a traceback only with --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EmbedkitError as error:
            if ctx.meta.get("embedkit.debug"):
                raise
            Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            sys.exit(error.exit_code)
        except OSError as error:  # a file the user named cannot be read or written
            if ctx.meta.get("embedkit.debug"):
                raise
            where = f" {error.filename!r}" if error.filename else ""
            Console(stderr=True).print(f"[bold red]error:[/] {error.strerror or error}{where}", highlight=False,
                                       soft_wrap=True)
            sys.exit(1)
        except click.UsageError as error:  # click would print usage, a hint and the error on three lines
            if ctx.meta.get("embedkit.debug"):
                raise
            command = error.ctx.command_path if error.ctx is not None else "embedkit"
            Console(stderr=True).print(f"[bold red]error:[/] {error.format_message()} (`{command} --help` shows the "
                                       f"options)", highlight=False, soft_wrap=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            Console(stderr=True).print("interrupted")
            sys.exit(130)


@click.group(cls=ErrorReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="embedkit")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Embed images and text, store the vectors in Qdrant, measure retrieval quality."""
    ctx.meta["embedkit.debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=debug)],
    )
    logging.getLogger("huggingface_hub").propagate = False  # it prints with a handler of its own: once, not twice


load_commands(main)
