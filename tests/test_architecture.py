"""The shape of the house: imports flow one way and no two modules import each other, the package root loads no
stage, modules stay small and public functions take few parameters."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import embedkit

PACKAGE = Path(embedkit.__file__).parent
REPOSITORY = PACKAGE.parent


def lint_imports(folder: Path) -> subprocess.CompletedProcess:
    """import-linter's command over the contracts in `folder`/pyproject.toml, with `folder` first on the path."""
    linter = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(linter), "--no-cache"], cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(folder)})


def test_no_lower_room_imports_a_higher_one():
    pytest.importorskip("importlinter")
    result = lint_imports(REPOSITORY)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_contract_catches_a_store_that_imports_a_reader(tmp_path):
    pytest.importorskip("importlinter")
    shutil.copytree(PACKAGE, tmp_path / "embedkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPOSITORY / "pyproject.toml", tmp_path)
    with open(tmp_path / "embedkit" / "store" / "base.py", "a") as module:
        module.write("\nfrom embedkit.retrieval import search  # noqa: E402\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "embedkit.store.base -> embedkit.retrieval" in result.stdout


def test_importing_the_package_loads_no_stage():
    code = ("import sys, embedkit; "
            "stages = [m for m in sys.modules if m.startswith(('embedkit.store', 'embedkit.encoders', "
            "'embedkit.ingestion', 'embedkit.retrieval', 'embedkit.bench', 'embedkit.analysis', 'embedkit.drawing', "
            "'torch'))]; "
            "print(stages); assert not stages; assert callable(embedkit.ingest) and callable(embedkit.search)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_api_functions_are_not_shadowed_by_their_rooms():
    import embedkit.ingestion  # noqa: F401  importing a room must not replace the function
    import embedkit.retrieval  # noqa: F401

    assert embedkit.ingest.__module__ == "embedkit.ingestion.pipeline"
    assert embedkit.search.__module__ == "embedkit.retrieval.query"


def test_no_module_is_much_over_400_lines():
    sizes = {str(path.relative_to(REPOSITORY)): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert {path: lines for path, lines in sizes.items() if lines > 420} == {}


MAX_PARAMETERS = 12
"""The most parameters a public function takes; more are grouped in option records (dataclasses)."""


def modules_of(package: Path) -> dict[str, Path]:
    """Every module of `package` by its dotted name (a package by its own name, not `.__init__`)."""
    modules = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def imported_by(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of the package that `module` imports anywhere: at the top, inside a function, under
    TYPE_CHECKING, or by name as a string (`importlib.import_module("embedkit.x")`)."""
    root = module.split(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = node.module
            if node.level:
                base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names if target else ():
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value != root:
            found.add(node.value)
    return {name for name in found if name in modules and name != module}


def import_circles(package: Path) -> list[tuple[str, str]]:
    """The pairs of modules of `package` that import each other."""
    modules = modules_of(package)
    imports = {module: imported_by(module, path, modules) for module, path in modules.items()}
    return sorted({tuple(sorted((a, b))) for a, targets in imports.items() for b in targets if a in imports[b]})


def test_no_two_modules_import_each_other_not_even_lazily():
    assert import_circles(PACKAGE) == []


def test_the_circle_check_finds_an_import_inside_a_function_and_one_for_type_checking(tmp_path):
    package = tmp_path / "house"
    (package / "rooms").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "rooms" / "__init__.py").write_text("")
    (package / "rooms" / "kitchen.py").write_text("from house.rooms import hall\n")
    (package / "rooms" / "hall.py").write_text("def cook():\n    from .kitchen import stove\n")
    (package / "garden.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import house.shed\n")
    (package / "shed.py").write_text("import importlib\ngarden = importlib.import_module('house.garden')\n")
    assert import_circles(package) == [("house.garden", "house.shed"), ("house.rooms.hall", "house.rooms.kitchen")]


def public_functions(package: Path) -> dict[str, int]:
    """Every function or method of `package` whose name does not start with `_`, by `path:line name`, with the
    number of parameters it takes (positional-only, positional and keyword-only; not self or cls, *args or
    **kwargs)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                names = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
                if names[:1] in (["self"], ["cls"]):
                    names = names[1:]
                found[f"{path.relative_to(package.parent)}:{node.lineno} {node.name}"] = len(names)
    return found


def test_no_public_function_takes_more_than_12_parameters():
    counts = public_functions(PACKAGE)
    assert {where: n for where, n in counts.items() if n > MAX_PARAMETERS} == {}


def test_the_parameter_count_leaves_out_self_args_kwargs_and_private_functions(tmp_path):
    (tmp_path / "house").mkdir()
    (tmp_path / "house" / "room.py").write_text(
        "def build(a, /, b, *args, c=1, **kwargs): ...\n"
        "def _helper(a, b, c, d): ...\n"
        "class Room:\n"
        "    def paint(self, colour, *, coats=2): ...\n"
        "    @classmethod\n"
        "    def empty(cls): ...\n")
    assert public_functions(tmp_path / "house") == {"house/room.py:1 build": 3, "house/room.py:4 paint": 2,
                                                     "house/room.py:6 empty": 0}
