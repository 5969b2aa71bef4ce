"""The precisions an encoder computes in, by name: what `--precision` offers, known without importing torch."""

from __future__ import annotations

from typing import Literal, get_args

from embedkit.errors import InvalidOptionError

Precision = Literal["fp32", "fp16", "bf16"]
PRECISION_NAMES: tuple[str, ...] = get_args(Precision)


def check_precision(precision: str) -> str:
    if precision not in PRECISION_NAMES:
        raise InvalidOptionError(f"unknown precision {precision!r}; use one of {', '.join(PRECISION_NAMES)}")
    return precision
