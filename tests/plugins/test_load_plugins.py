"""$EMBEDKIT_LOAD_PLUGINS picks the third-party plugins that load: unset all, a list only those, empty none."""

from __future__ import annotations

import logging

import pytest

from embedkit.plugins import DEFAULT_PLUGINS, plugin_names

EMPTY_PLUGIN = '''
    from embedkit.hookspecs import hookimpl

    @hookimpl
    def register_datasets(register):
        pass
'''


@pytest.fixture
def two_plugins(install_plugin, monkeypatch, fresh_plugins) -> None:
    install_plugin("first", EMPTY_PLUGIN)
    folder = install_plugin("second", EMPTY_PLUGIN)
    monkeypatch.syspath_prepend(str(folder))


def test_unset_loads_every_installed_plugin(two_plugins, monkeypatch):
    monkeypatch.delenv("EMBEDKIT_LOAD_PLUGINS", raising=False)
    assert {"first", "second", *DEFAULT_PLUGINS} <= set(plugin_names())


def test_a_list_loads_only_the_plugins_it_names(two_plugins, monkeypatch):
    monkeypatch.setenv("EMBEDKIT_LOAD_PLUGINS", " second ,")
    names = plugin_names()
    assert "second" in names and "first" not in names and "efficientnet_lite" not in names
    assert set(DEFAULT_PLUGINS) <= set(names)


def test_empty_loads_no_plugin_but_the_built_ins(two_plugins, monkeypatch):
    monkeypatch.setenv("EMBEDKIT_LOAD_PLUGINS", "")
    assert plugin_names() == list(DEFAULT_PLUGINS)


def test_a_named_plugin_that_is_not_installed_is_a_warning(two_plugins, monkeypatch, caplog):
    monkeypatch.setenv("EMBEDKIT_LOAD_PLUGINS", "first,missing")
    with caplog.at_level(logging.WARNING, logger="embedkit.plugins"):
        names = plugin_names()
    assert "first" in names and "missing" not in names
    assert "plugin 'missing' is named in $EMBEDKIT_LOAD_PLUGINS" in caplog.text
