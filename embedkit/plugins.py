"""Loads plugins: the built-in modules first, then the packages with an `embedkit` entry point that
$EMBEDKIT_LOAD_PLUGINS allows."""

from __future__ import annotations

import functools
import importlib
import logging
import os
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

import pluggy

from embedkit import hookspecs
from embedkit.registry import Registry

if TYPE_CHECKING:
    import click
    from fastapi import APIRouter

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "embedkit"
LOAD_PLUGINS_ENV = "EMBEDKIT_LOAD_PLUGINS"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "embedkit.encoders.builtin.torchvision_cnn",
    "embedkit.encoders.builtin.clip",
    "embedkit.encoders.builtin.sentence_transformer",
    "embedkit.encoders.builtin.ensemble",
    "embedkit.encoders.builtin.pixels",
    "embedkit.encoders.builtin.finetuned",
    "embedkit.datasets.builtin",
    "embedkit.store.builtin",
)

BUILTIN_COMMAND_PLUGINS: tuple[str, ...] = (
    "embedkit.cli.embed",
    "embedkit.cli.encoders",
    "embedkit.cli.datasets",
    "embedkit.cli.collections",
    "embedkit.cli.ingest",
    "embedkit.cli.search",
    "embedkit.cli.browse",
    "embedkit.cli.bench",
    "embedkit.cli.ensembles",
    "embedkit.cli.delete",
    "embedkit.cli.verify",
    "embedkit.cli.classify",
    "embedkit.cli.cluster",
    "embedkit.cli.map",
    "embedkit.cli.duplicates",
    "embedkit.cli.mistakes",
    "embedkit.cli.rank",
    "embedkit.cli.serve",
    "embedkit.cli.train",
)
"""Registered only when the CLI builds its group, so that the Python API never imports click commands."""

BUILTIN_ROUTE_PLUGINS: tuple[str, ...] = ("embedkit.serve.api",)
"""Registered only when a server builds its routes, so that nothing else imports FastAPI."""


def allowed_plugins() -> frozenset[str] | None:
    """The entry-point names $EMBEDKIT_LOAD_PLUGINS lets load: None when it is unset (every installed
    plugin), none when it is empty. Built-ins load whatever it says."""
    value = os.environ.get(LOAD_PLUGINS_ENV)
    if value is None:
        return None
    return frozenset(name.strip() for name in value.split(",") if name.strip())


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The installed plugins that $EMBEDKIT_LOAD_PLUGINS allows; the built-in modules join on first use
    (`register_builtins`), so that a command need not import every encoder to start."""
    manager = pluggy.PluginManager("embedkit")
    manager.add_hookspecs(hookspecs)
    allowed = allowed_plugins()
    found = set()
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and entry_point.name not in allowed:
            continue
        found.add(entry_point.name)
        if manager.get_plugin(entry_point.name) is not None:
            continue
        try:
            manager.register(entry_point.load(), name=entry_point.name)
        except Exception as error:  # a broken third-party plugin must not break embedkit
            log.warning("plugin %r could not be loaded: %s", entry_point.name, error)
    for name in sorted((allowed or frozenset()) - found):
        log.warning("plugin %r is named in $%s but no installed package has an %r entry point of that name",
                    name, LOAD_PLUGINS_ENV, ENTRY_POINT_GROUP)
    return manager


def register_builtins(modules: tuple[str, ...]) -> pluggy.PluginManager:
    """The plugin manager, with these built-in modules registered (once) like any plugin."""
    manager = plugin_manager()
    for module_name in modules:
        if manager.get_plugin(module_name) is None:
            manager.register(importlib.import_module(module_name), name=module_name)
    return manager


def load_registry(hook_name: str, registry: Registry) -> None:
    """Let every plugin that implements `hook_name` register into `registry`, built-ins first."""
    manager = register_builtins(DEFAULT_PLUGINS)
    plugins = sorted(manager.list_name_plugin(), key=lambda item: item[0] not in DEFAULT_PLUGINS)
    for plugin_name, plugin in plugins:
        hook = getattr(plugin, hook_name, None)
        if hook is None:
            continue
        try:
            registry.load_from(plugin_name, hook)
        except Exception as error:  # one faulty plugin must not hide the others' names
            log.warning("plugin %r failed in %s: %s", plugin_name, hook_name, error)


def load_commands(cli: click.Group) -> None:
    """Add the commands of every plugin that implements `register_commands` to `cli`, built-ins first.

    A plugin whose hook raises adds nothing, and a command name that is taken already keeps its first
    command; both are logged, and the other plugins' commands are added all the same.
    """
    for implementation in _builtins_first("register_commands", BUILTIN_COMMAND_PLUGINS):
        before = dict(cli.commands)
        try:
            implementation.function(cli=cli)
        except Exception as error:  # one faulty plugin must not take the other commands with it
            log.warning("plugin %r failed in register_commands: %s", implementation.plugin_name, error)
            cli.commands.clear()
            cli.commands.update(before)
            continue
        for name, command in before.items():
            if cli.commands.get(name) is not command:
                log.warning("plugin %r replaced command %r; keeping the first registration",
                            implementation.plugin_name, name)
                cli.commands[name] = command


def load_routes(router: APIRouter) -> None:
    """Add the routes of every plugin that implements `register_routes` to `router`, built-ins first.

    Each plugin fills a router of its own. One whose hook raises, or that offers a path and method taken
    already, adds no route; both are logged, and the other plugins' routes are added all the same.
    """
    from fastapi import APIRouter

    for implementation in _builtins_first("register_routes", BUILTIN_ROUTE_PLUGINS):
        offered = APIRouter()
        try:
            implementation.function(router=offered)
        except Exception as error:  # one faulty plugin must not take the server's other routes with it
            log.warning("plugin %r failed in register_routes: %s", implementation.plugin_name, error)
            continue
        taken = sorted(_operations(router) & _operations(offered))
        if taken:
            log.warning("plugin %r offers routes that are taken already (%s); its routes are left out",
                        implementation.plugin_name, ", ".join(f"{method} {path}" for path, method in taken))
            continue
        router.include_router(offered)


def _operations(router: APIRouter) -> set[tuple[str, str]]:
    """The (path, method) pairs that `router` answers, as its OpenAPI schema lists them."""
    from fastapi import FastAPI

    probe = FastAPI()
    probe.include_router(router)
    return {(path, method.upper()) for path, methods in probe.openapi().get("paths", {}).items() for method in methods}


def _builtins_first(hook_name: str, builtins: tuple[str, ...]) -> list[pluggy.HookImpl]:
    """The implementations of `hook_name`, these built-in modules' (registered now, once) before the plugins'."""
    manager = register_builtins(builtins)
    return sorted(getattr(manager.hook, hook_name).get_hookimpls(),
                  key=lambda implementation: implementation.plugin_name not in builtins)


def plugin_names() -> list[str]:
    return [name for name, _ in register_builtins(DEFAULT_PLUGINS).list_name_plugin()]
