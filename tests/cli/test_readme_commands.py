"""The README's "Use it" block speaks the current option grammar: every command exists and every option it gives
is a visible option of that command (no hidden old spelling), and it shows the commands a newcomer needs;
docs/cli.md's grammar table names exactly the commands that have each option."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

from embedkit.cli import main

README = Path(__file__).parents[2] / "README.md"


def use_it_lines() -> list[list[str]]:
    block = re.search(r"## Use it\n+```bash\n(.*?)```", README.read_text(), re.S)
    assert block is not None, "README.md has no 'Use it' bash block"
    return [shlex.split(line, comments=True)[1:] for line in block.group(1).splitlines()
            if line.startswith("embedkit ")]


def visible_options(command: click.Command) -> set[str]:
    return {name for param in command.params if isinstance(param, click.Option) and not param.hidden
            for name in (*param.opts, *param.secondary_opts)}


def test_every_readme_command_uses_visible_options_only():
    lines = use_it_lines()
    assert len(lines) >= 15
    for words in lines:
        command = main.commands.get(words[0])
        assert command is not None, f"README: no command {words[0]!r}"
        while isinstance(command, click.Group) and len(words) > 1 and words[1] in command.commands:
            words = words[1:]
            command = command.commands[words[0]]
        options = visible_options(command)
        given = {word.split("=")[0] for word in words[1:] if word.startswith("-")}
        assert given <= options, f"README: {words[0]} has no visible {sorted(given - options)}"


def test_the_readme_shows_the_new_commands():
    assert {"browse", "mistakes", "rank"} <= {words[0] for words in use_it_lines()}


def every_command(group: click.Group = main, prefix: str = "") -> dict[str, click.Command]:
    found = {}
    for name, command in group.commands.items():
        found[prefix + name] = command
        if isinstance(command, click.Group):
            found.update(every_command(command, f"{prefix}{name} "))
    return found


def test_the_grammar_table_of_docs_cli_lists_exactly_the_commands_with_each_option():
    text = (README.parent / "docs" / "cli.md").read_text()
    rows = {"`-k`, `--k`": "--k", "`-o`, `--out FILE`": "--out", "`--out-dir FOLDER`": "--out-dir",
            "`--write`, `--mark`, `--write-labels`": ("--write", "--mark", "--write-labels")}
    for cell, options in rows.items():
        line = next(line for line in text.splitlines() if line.startswith(f"| {cell} |"))
        listed = {name.strip() for name in re.sub(r"\(.*?\)", "", line.split("|")[3]).split(",")}
        wanted = {options} if isinstance(options, str) else set(options)
        having = {path for path, command in every_command().items() if wanted & visible_options(command)}
        assert listed == having, f"docs/cli.md's {cell} row: {sorted(listed ^ having)}"
