"""`embedkit serve` started as a user starts it, in its own process, on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class ServerUrl(str):
    """The base URL of a running server, with the server's process."""

    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(store: Path, *options: str, wait: float = 90, env: dict[str, str] | None = None) -> Iterator[ServerUrl]:
    """The base URL of a server of `store`, up and answering /api/health; stopped with Ctrl-C afterwards."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "embedkit", "serve", "--qdrant", str(store), "--port", str(port),
                                *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler))
    url = ServerUrl(f"http://127.0.0.1:{port}")
    url.process = process
    deadline = time.monotonic() + wait
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"embedkit serve exited {process.returncode}: {process.stderr.read()}")
            try:
                with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
                    if json.load(response)["status"] == "ok":
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
