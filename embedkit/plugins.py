"""Loads plugins: the built-in modules first, then every package with an `embedkit` entry point."""

from __future__ import annotations

import functools
import importlib
import logging
from importlib.metadata import entry_points

import pluggy

from embedkit import hookspecs
from embedkit.registry import Registry

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "embedkit"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "embedkit.encoders.builtin.torchvision_cnn",
    "embedkit.encoders.builtin.clip",
    "embedkit.encoders.builtin.sentence_transformer",
    "embedkit.encoders.ensemble.encoder",
    "embedkit.datasets.builtin",
)


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("embedkit")
    manager.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(module_name), name=module_name)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if manager.get_plugin(entry_point.name) is not None:
            continue
        try:
            manager.register(entry_point.load(), name=entry_point.name)
        except Exception as error:  # a broken third-party plugin must not break embedkit
            log.warning("plugin %r could not be loaded: %s", entry_point.name, error)
    return manager


def load_registry(hook_name: str, registry: Registry) -> None:
    """Let every plugin that implements `hook_name` register into `registry`, built-ins first."""
    for plugin_name, plugin in plugin_manager().list_name_plugin():
        hook = getattr(plugin, hook_name, None)
        if hook is None:
            continue
        try:
            registry.load_from(plugin_name, hook)
        except Exception as error:  # one faulty plugin must not hide the others' names
            log.warning("plugin %r failed in %s: %s", plugin_name, hook_name, error)


def plugin_names() -> list[str]:
    return [name for name, _ in plugin_manager().list_name_plugin()]
