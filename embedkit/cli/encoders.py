"""`embedkit encoders`: what can embed, with dimensions and whether its weights are here."""

from __future__ import annotations

import json

import click
from rich import box
from rich.table import Column, Table

from embedkit.cli.tables import LOCAL_MARKS, entry_row, plugin_label, wide_console
from embedkit.encoders import entry_record, list_encoders
from embedkit.hookspecs import hookimpl
from embedkit.registry import Entry


def encoder_row(entry: Entry) -> dict:
    available = entry.info.get("weights_available")
    record = entry_record(entry)
    return entry_row(entry, dim=record.dim or None, modality=record.modality, weights=record.weights,
                     weights_local=bool(available()) if callable(available) else None)


@click.command("encoders")
@click.argument("pattern", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def encoders_command(pattern: str | None, as_json: bool) -> None:
    """List the encoders, optionally matching PATTERN.

    PATTERN is a glob, such as 'resnet*'."""
    rows = [encoder_row(entry) for entry in list_encoders(pattern)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(*(Column(title, no_wrap=True) for title in ("name", "alias", "dim", "modality", "local", "plugin")),
                  box=box.SIMPLE_HEAD)
    for row in rows:
        table.add_row(row["name"], (row["aliases"] or ["-"])[0], str(row["dim"] or "-"),
                      row["modality"] or "-", LOCAL_MARKS[row["weights_local"]], plugin_label(row["plugin"]))
    wide_console().print(table)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(encoders_command)
