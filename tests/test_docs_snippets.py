"""Every Python snippet of the docs and the README compiles, and what it imports from embedkit exists with the
keyword arguments it passes (pages whose snippets are run whole: tests/test_docs_store.py, tests/test_docs_serve.py)."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PAGES = sorted([*ROOT.joinpath("docs").glob("*.md"), ROOT / "README.md"])
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
SNIPPETS = [(page, number, code) for page in PAGES for number, code in enumerate(BLOCK.findall(page.read_text()))]


def imported(tree: ast.AST) -> dict[str, object]:
    """The names the snippet imports from embedkit, resolved (ImportError/AttributeError when one does not exist)."""
    names: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "embedkit":
            module = importlib.import_module(node.module)
            for alias in node.names:
                try:
                    names[alias.asname or alias.name] = getattr(module, alias.name)
                except AttributeError:
                    names[alias.asname or alias.name] = importlib.import_module(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "embedkit":
                    names[alias.asname or alias.name.split(".")[0]] = importlib.import_module(alias.name)
    return names


def called(tree: ast.AST, names: dict[str, object]):
    """(function, keyword names) of each call of an imported embedkit function, `embedkit.f(...)` included."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = None
        if isinstance(node.func, ast.Name) and node.func.id in names:
            target = names[node.func.id]
        elif (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
              and node.func.value.id == "embedkit" and "embedkit" in names):
            target = getattr(names["embedkit"], node.func.attr)
        if callable(target):
            yield target, [keyword.arg for keyword in node.keywords if keyword.arg is not None]


@pytest.mark.parametrize(("page", "number", "code"), SNIPPETS,
                         ids=[f"{page.name}-{number}" for page, number, _ in SNIPPETS])
def test_a_docs_snippet_compiles_and_calls_what_exists_as_it_is_called(page, number, code):
    tree = ast.parse(code, filename=str(page))
    compile(tree, str(page), "exec")
    names = imported(tree)
    for function, keywords in called(tree, names):
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            continue
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            continue
        unknown = [keyword for keyword in keywords if keyword not in parameters]
        assert not unknown, f"{page.name}: {getattr(function, '__name__', function)}() takes no {unknown}"


def test_the_pages_with_python_snippets_are_all_checked():
    assert {page.name for page, _, _ in SNIPPETS} >= {"serve.md", "store.md", "cluster.md", "search.md", "README.md"}
