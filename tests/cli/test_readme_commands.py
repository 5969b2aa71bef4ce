"""The README's "Use it" block speaks the current option grammar: every command exists and every option it gives
is a visible option of that command (no hidden old spelling), and it shows the commands a newcomer needs."""

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
