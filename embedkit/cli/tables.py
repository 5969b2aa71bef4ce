"""What the listing commands draw with: a console that keeps tables readable when piped, and the
columns every registry entry has."""

from __future__ import annotations

import json
import os
from typing import Any

import click
from rich.console import Console

from embedkit.plugins import DEFAULT_PLUGINS
from embedkit.registry import Entry

LOCAL_MARKS = {True: "[green]yes[/]", False: "[yellow]no[/]", None: "-"}
"""How a table shows whether weights or data are on this machine (None: cannot tell)."""


def wide_console(width: int = 110, **kwargs: Any) -> Console:
    """A rich console at least `width` columns wide when not drawing on a terminal (piped or captured), unless
    $COLUMNS says how wide."""
    console = Console(**kwargs)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = max(console.width, width)
    return console


def entry_row(entry: Entry, **fields: Any) -> dict[str, Any]:
    """A registry entry as a JSON row: its name and aliases, `fields`, the plugin and the description."""
    return {"name": entry.name, "aliases": list(entry.aliases), **fields, "plugin": entry.plugin,
            "description": entry.info.get("description", "")}


def plugin_label(plugin: str) -> str:
    return "built-in" if plugin in DEFAULT_PLUGINS else plugin


def print_json(document: Any) -> None:
    """The one way a command prints --json: one document on stdout, indented, dates and paths as strings."""
    click.echo(json.dumps(document, indent=2, default=str))


def path_column(header: str = "source", **kwargs: Any) -> Any:
    """A table column of file paths: one line each, cut with an ellipsis when the table is too narrow, never
    wrapped in the middle of a name."""
    from rich.table import Column

    return Column(header, no_wrap=True, overflow="ellipsis", **kwargs)


def shortened_paths(paths: list[str]) -> tuple[str | None, list[str]]:
    """Absolute file paths under one folder as that folder and the paths relative to it (what tells them
    apart), so that a table at 80 columns shows what matters; other values as they are."""
    if len(paths) < 2 or not all(os.path.isabs(path) for path in paths):
        return None, paths
    root = os.path.commonpath(paths)
    if root in ("/", "") or root in paths:
        return None, paths
    return root, [os.path.relpath(path, root) for path in paths]
