"""An app run by uvicorn so that Ctrl-C stops it within seconds, whatever its requests are doing: the requests in
flight get a short grace, then are cancelled without a traceback, and threads stuck in them are left behind.
A second app may be served beside it on a port of its own (Qdrant's API, `--qdrant-api-port`): it stops with the
first."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator

from fastapi import FastAPI

GRACE_SECONDS = 3.0
"""How long requests in flight may finish after Ctrl-C (the store closes and the process exits after)."""


class DropCancelled(logging.Filter):
    """uvicorn logs each request it cancels at shutdown with a CancelledError traceback; one line says it already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def serve_until_stopped(app: FastAPI, host: str, port: int, beside: tuple[FastAPI, int] | None = None) -> None:
    """Serve `app` until Ctrl-C (KeyboardInterrupt is raised again once the server has stopped) or SIGTERM, and
    `beside` (an app and its port), if given, until `app` stops."""
    import uvicorn

    def config(served: FastAPI, on: int) -> uvicorn.Config:
        return uvicorn.Config(served, host=host, port=on, log_level="warning", timeout_graceful_shutdown=GRACE_SECONDS)

    logging.getLogger("uvicorn.error").addFilter(DropCancelled())
    if beside is None:
        uvicorn.Server(config(app, port)).run()
        return

    class Companion(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # the first server takes the signals for both
            yield

    first, second = uvicorn.Server(config(app, port)), Companion(config(*beside))

    async def both() -> None:
        companion = asyncio.create_task(second.serve())
        try:
            await first.serve()
        finally:
            second.should_exit = True
            await companion

    asyncio.run(both())


def stuck_threads() -> list[threading.Thread]:
    """Threads (a request's, blocked in a read that never ends) that would keep the process from exiting."""
    return [thread for thread in threading.enumerate()
            if thread is not threading.current_thread() and thread.is_alive() and not thread.daemon]
