"""Two applications served by one process on two ports (embedkit's, and Qdrant's API on a port of its own,
`--qdrant-api-port`): the first takes Ctrl-C as a lone server does, and the second stops with it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any


def serve_beside(main: Any, companion: Any) -> None:
    """Run `main` and `companion` (uvicorn Configs) until `main` stops (Ctrl-C), then stop `companion`."""
    import uvicorn

    class Companion(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # the main server takes the signals for both
            yield

    first, second = uvicorn.Server(main), Companion(companion)

    async def both() -> None:
        beside = asyncio.create_task(second.serve())
        try:
            await first.serve()
        finally:
            second.should_exit = True
            await beside

    asyncio.run(both())
