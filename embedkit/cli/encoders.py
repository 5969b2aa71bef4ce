"""`embedkit encoders`: what can embed, with dimensions and whether its weights are here."""

from __future__ import annotations

import click
from rich import box
from rich.console import Console
from rich.table import Column, Table

from embedkit.cli.tables import LOCAL_MARKS, entry_row, plugin_label, print_json, wide_console
from embedkit.encoders import ENCODERS, entry_record, list_encoders
from embedkit.hookspecs import hookimpl
from embedkit.registry import Entry


def encoder_row(entry: Entry, pattern: str | None = None) -> dict:
    """The JSON row of `entry`, with the aliases that `pattern` matched (all of them when it matched the name)."""
    available = entry.info.get("weights_available")
    record = entry_record(entry)
    row = entry_row(entry, dim=record.dim or None, modality=record.modality, weights=record.weights,
                    weights_local=bool(available()) if callable(available) else None)
    return {**row, "aliases": list(entry.aliases_matching(pattern))}


def alias_cell(aliases: list[str]) -> str:
    if not aliases:
        return "-"
    return aliases[0] + (f" [dim]+{len(aliases) - 1}[/]" if len(aliases) > 1 else "")


def nothing_matches(pattern: str) -> str:
    """One line: that `pattern` matched nothing, the names closest to it, and how to list them all."""
    close = [repr(name) for name in ENCODERS.close_matches(pattern.strip("*?[]"), cutoff=0.6)]
    close += [repr(entry.name + pattern) for entry in list_encoders(f"*:{pattern}") if entry.is_family]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return (f"no encoder name or alias matches {pattern!r}{hint}; `embedkit encoders` lists all "
            f"{len(list_encoders())}")


@click.command("encoders")
@click.argument("pattern", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def encoders_command(pattern: str | None, as_json: bool) -> None:
    """List the encoders, optionally matching PATTERN.

    PATTERN is a glob over names and aliases, such as 'resnet*' or 'clip:ViT-B-32*'."""
    rows = [encoder_row(entry, pattern) for entry in list_encoders(pattern)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        Console(stderr=True).print(nothing_matches(pattern or "*"), highlight=False, soft_wrap=True)
        return
    table = Table(*(Column(title, no_wrap=True) for title in ("name", "alias", "dim", "modality", "local", "plugin")),
                  box=box.SIMPLE_HEAD)
    for row in rows:
        table.add_row(row["name"], alias_cell(row["aliases"]), str(row["dim"] or "-"),
                      row["modality"] or "-", LOCAL_MARKS[row["weights_local"]], plugin_label(row["plugin"]))
    wide_console().print(table)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(encoders_command)
