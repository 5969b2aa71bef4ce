"""Plugins installed into a temporary folder (a module and its dist-info with an `embedkit` entry point),
and a plugin manager built afresh for a test."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from embedkit.plugins import plugin_manager


@pytest.fixture
def install_plugin(tmp_path) -> Callable[[str, str], Path]:
    """`install_plugin(entry_point_name, source)` writes module `<name>_plugin` with `source` and declares it
    as entry point `name`; the folder it returns goes on the path of the process that should find it."""
    folder = tmp_path / "site"
    folder.mkdir()
    modules = []

    def install(name: str, source: str) -> Path:
        module = f"{name}_plugin"
        (folder / f"{module}.py").write_text(textwrap.dedent(source))
        info = folder / f"{module}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[embedkit]\n{name} = {module}\n")
        modules.append(module)
        return folder

    yield install
    for module in modules:
        sys.modules.pop(module, None)


@pytest.fixture
def fresh_plugins(monkeypatch) -> None:
    """A plugin manager built on first use in the test, from its environment, and dropped after it."""
    plugin_manager.cache_clear()
    yield
    plugin_manager.cache_clear()


@pytest.fixture
def run_embedkit() -> Callable[..., subprocess.CompletedProcess]:
    """`run_embedkit(*args, path=FOLDER, load=NAMES)`: `python -m embedkit ARGS` in a new process that also
    looks for packages in FOLDER, with $EMBEDKIT_LOAD_PLUGINS set to NAMES (None: unset)."""

    def run(*args: object, path: Path, load: str | None) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(path), os.environ.get("PYTHONPATH")]))}
        env.pop("EMBEDKIT_LOAD_PLUGINS", None)
        if load is not None:
            env["EMBEDKIT_LOAD_PLUGINS"] = load
        return subprocess.run([sys.executable, "-m", "embedkit", *map(str, args)], env=env, capture_output=True,
                              text=True, timeout=120)

    return run
