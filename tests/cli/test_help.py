"""The help a newcomer reads first: `embedkit --help` lists every command with a whole sentence."""

from __future__ import annotations

import click

from embedkit.cli import main


def all_commands(group: click.Group, path: str = "embedkit"):
    for name, command in group.commands.items():
        yield f"{path} {name}", command
        if isinstance(command, click.Group):
            yield from all_commands(command, f"{path} {name}")


def test_every_command_summary_fits_an_80_column_help_listing_without_being_cut():
    widest_name = max(len(name) for group in [main] for name in group.commands)
    room = 80 - 6 - widest_name  # what click leaves for a summary in an 80-column `--help`
    for path, command in all_commands(main):
        summary = command.get_short_help_str(limit=room)
        assert summary and not summary.endswith("..."), f"`{path}` --help summary is cut: {summary!r}"
        assert summary.endswith("."), f"`{path}` summary is not a sentence: {summary!r}"


def test_the_help_listing_shows_each_summary_whole(run):
    listing = run("--help").output.split("Commands:")[1]
    assert "..." not in listing
    assert "Score every encoder x dataset pair: mAP@5, P@10, AP." in listing
