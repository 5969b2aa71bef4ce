"""The shape of the house: imports flow one way, the package root loads no stage, modules stay small."""

from __future__ import annotations

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
