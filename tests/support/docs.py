"""Snippets of the docs pages, for the tests that run them."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs"


def python_block(doc: Path, heading: str) -> str:
    """The first ```python block after the line `heading` in `doc`."""
    text = doc.read_text()
    start = text.index(f"\n{heading}\n")
    match = re.compile(r"```python\n(.*?)```", re.S).search(text, start)
    assert match, f"no python block after {heading!r} in {doc}"
    return match.group(1)
