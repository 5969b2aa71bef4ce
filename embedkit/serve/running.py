"""An app run by uvicorn so that Ctrl-C stops it within seconds, whatever its requests are doing: the requests in
flight get a short grace, then are cancelled without a traceback, and threads stuck in them are left behind."""

from __future__ import annotations

import asyncio
import logging
import threading

from fastapi import FastAPI

GRACE_SECONDS = 3.0
"""How long requests in flight may finish after Ctrl-C (the store closes and the process exits after)."""


class DropCancelled(logging.Filter):
    """uvicorn logs each request it cancels at shutdown with a CancelledError traceback; one line says it already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def serve_until_stopped(app: FastAPI, host: str, port: int) -> None:
    """Serve `app` until Ctrl-C (KeyboardInterrupt is raised again once the server has stopped) or SIGTERM."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=GRACE_SECONDS)
    logging.getLogger("uvicorn.error").addFilter(DropCancelled())
    uvicorn.Server(config).run()


def stuck_threads() -> list[threading.Thread]:
    """Threads (a request's, blocked in a read that never ends) that would keep the process from exiting."""
    return [thread for thread in threading.enumerate()
            if thread is not threading.current_thread() and thread.is_alive() and not thread.daemon]
