"""Qdrant's answer envelope: `{"result": ..., "status": "ok", "time": seconds}`, and its error body
`{"status": {"error": "..."}, "time": seconds}`."""

from __future__ import annotations

import time
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel


def dumped(value: Any) -> Any:
    """A qdrant_client model (or a list of them) as JSON data, leaving out the fields it does not set."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [dumped(item) for item in value]
    return value


def answer(result: Any, started: float) -> JSONResponse:
    return JSONResponse({"result": dumped(result), "status": "ok", "time": time.perf_counter() - started})


def failure(status: int, message: str, started: float | None = None, headers: dict[str, str] | None = None
            ) -> JSONResponse:
    spent = 0.0 if started is None else time.perf_counter() - started
    return JSONResponse({"status": {"error": message}, "time": spent}, status_code=status, headers=headers)
