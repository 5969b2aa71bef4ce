"""Commands come through the `register_commands(cli)` hook: the built-in ones and a plugin's alike."""

from __future__ import annotations

import logging
import subprocess
import sys

import click

from embedkit.cli import main
from embedkit.hookspecs import hookimpl
from embedkit.plugins import BUILTIN_COMMAND_PLUGINS, load_commands, plugin_manager

HELLO = '''
    import click
    from embedkit.hookspecs import hookimpl

    @click.command()
    @click.argument("name")
    def hello(name):
        """Greet NAME."""
        click.echo(f"hello {name}")

    @hookimpl
    def register_commands(cli):
        cli.add_command(hello)
'''

BUILT_IN_COMMANDS = {"bench", "collections", "datasets", "delete", "embed", "encoders", "ensemble", "export", "ingest", "push",
                     "search", "stack", "verify", "browse", "classify", "cluster", "map", "duplicates", "mistakes", "rank", "serve",
                     "train", "tune"}


def test_a_plugin_command_runs_through_the_embedkit_command(install_plugin, run_embedkit):
    path = install_plugin("hello", HELLO)
    greeted = run_embedkit("hello", "world", path=path, load="hello")
    assert greeted.returncode == 0, greeted.stderr
    assert greeted.stdout == "hello world\n"
    listed = run_embedkit("--help", path=path, load="hello")
    assert "hello" in listed.stdout and "Greet NAME." in listed.stdout and "embed " in listed.stdout


def test_built_in_commands_are_registered_through_the_hook(fresh_plugins):
    cli = click.Group()
    load_commands(cli)
    implementers = {impl.plugin_name for impl in plugin_manager().hook.register_commands.get_hookimpls()}
    assert set(BUILTIN_COMMAND_PLUGINS) <= implementers
    assert BUILT_IN_COMMANDS == set(cli.commands) and BUILT_IN_COMMANDS <= set(main.commands)


def test_a_plugin_whose_hook_fails_adds_nothing_and_the_other_commands_load(fresh_plugins, caplog):
    class Broken:
        @hookimpl
        def register_commands(self, cli):
            cli.add_command(click.Command("half-done"))
            raise RuntimeError("no luck")

    plugin_manager().register(Broken(), name="broken")
    cli = click.Group()
    with caplog.at_level(logging.WARNING, logger="embedkit.plugins"):
        load_commands(cli)
    assert "half-done" not in cli.commands and BUILT_IN_COMMANDS == set(cli.commands)
    assert "plugin 'broken' failed in register_commands: no luck" in caplog.text


def test_a_plugin_cannot_replace_a_built_in_command(fresh_plugins, caplog):
    impostor = click.Command("embed")

    class Impostor:
        @hookimpl
        def register_commands(self, cli):
            cli.add_command(impostor)

    plugin_manager().register(Impostor(), name="impostor")
    cli = click.Group()
    with caplog.at_level(logging.WARNING, logger="embedkit.plugins"):
        load_commands(cli)
    assert cli.commands["embed"] is not impostor and cli.commands["embed"].name == "embed"
    assert "plugin 'impostor' replaced command 'embed'" in caplog.text


def test_the_python_api_does_not_import_the_commands():
    code = ("import sys, embedkit.encoders, embedkit.datasets; embedkit.encoders.list_encoders(); "
            "embedkit.datasets.list_datasets(); loaded = [m for m in sys.modules if m.startswith('embedkit.cli')]; "
            "assert not loaded, loaded")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_starting_the_command_line_imports_no_encoder_module():
    code = ("import sys, embedkit.cli; "
            "loaded = [m for m in sys.modules if m.startswith(('embedkit.encoders.builtin', 'torchvision', "
            "'open_clip', 'sentence_transformers', 'embedkit_efficientnet_lite.model'))]; print(loaded); assert not loaded")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
