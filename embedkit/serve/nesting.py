"""How deeply a JSON text nests its arrays and objects, counted in chunks as they arrive (strings understood),
so that a body nested too deeply is refused before any parser recurses into it."""

from __future__ import annotations

import re

import numpy as np

from embedkit.errors import InvalidOptionError

MAX_DEPTH = 32
TOKENS = re.compile(rb'[\[\]{}"\\]')
OPEN = np.zeros(256, np.int8)
OPEN[[ord("["), ord("{")]] = 1
OPEN[[ord("]"), ord("}")]] = -1


class TooDeepError(InvalidOptionError):
    """JSON nested deeper than the server allows (400)."""


class Nesting:
    """The deepest nesting seen so far of a JSON text fed in chunks; `feed` raises TooDeepError past `limit`."""

    def __init__(self, limit: int = MAX_DEPTH, what: str = "the JSON body"):
        self.limit = limit
        self.what = what
        self.depth = 0
        self.deepest = 0
        self.in_string = False
        self.escaped_at = -1
        self.offset = 0

    def feed(self, chunk: bytes) -> None:
        if not self.in_string and b'"' not in chunk and b"\\" not in chunk:
            self._count(chunk)  # numbers and brackets only (vectors): counted without a Python loop
        else:
            for match in TOKENS.finditer(chunk):
                at = self.offset + match.start()
                char = chunk[match.start()]
                if at == self.escaped_at:
                    continue
                if self.in_string:
                    if char == 0x5C:
                        self.escaped_at = at + 1
                    elif char == 0x22:
                        self.in_string = False
                elif char == 0x22:
                    self.in_string = True
                elif char in b"[{":
                    self.depth += 1
                    self._check(self.depth)
                elif char in b"]}":
                    self.depth -= 1
        self.offset += len(chunk)

    def _count(self, chunk: bytes) -> None:
        steps = OPEN[np.frombuffer(chunk, np.uint8)]
        if not steps.any():
            return
        depths = self.depth + np.cumsum(steps, dtype=np.int64)
        self._check(int(depths.max()))
        self.depth = int(depths[-1])

    def _check(self, depth: int) -> None:
        self.deepest = max(self.deepest, depth)
        if depth > self.limit:
            raise TooDeepError(f"{self.what} nests arrays and objects deeper than {self.limit} levels; "
                               f"send a flatter one")


def check_nesting(text: str | bytes, limit: int = MAX_DEPTH, what: str = "the JSON") -> None:
    """Raise TooDeepError when `text` nests deeper than `limit` (before json.loads recurses into it)."""
    Nesting(limit, what).feed(text.encode() if isinstance(text, str) else text)
