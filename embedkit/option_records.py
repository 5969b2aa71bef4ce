"""Options that travel in records: a record's field given as a loose keyword is refused in one line that says
which record takes it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from embedkit.errors import InvalidOptionError


def refuse_misplaced(options: Mapping[str, Any], record: type, keyword: str, *, owner: str, instead_of: str) -> None:
    """Refuse the fields of the option `record` among keywords that go to `instead_of` (the encoders): pass
    `keyword=Record(...)` instead, the one line says."""
    fields = {field.name for field in dataclasses.fields(record)}
    misplaced = [name for name in options if name in fields]
    if misplaced:
        given = ", ".join(f"{name}=..." for name in misplaced)
        raise InvalidOptionError(f"{', '.join(misplaced)} {'is an option' if len(misplaced) == 1 else 'are options'} "
                                 f"of {owner}, not of {instead_of}: pass {keyword}={record.__name__}({given})")
