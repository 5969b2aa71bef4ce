"""`embedkit serve` as a command: what it refuses before it starts, and a key given in the environment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

from click.testing import CliRunner

from embedkit.cli import main
from embedkit.store import open_store
from tests.serve.running import free_port, running_server


def serve(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "embedkit", "serve", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_a_store_another_process_holds_is_refused_in_one_line_naming_it(store_copy):
    with open_store(store_copy) as held:
        held.collections()
        finished = serve("--qdrant", store_copy, "--port", free_port())
    assert finished.returncode == 1
    assert finished.stderr.strip().splitlines() == [
        f"error: the embedded store {store_copy} is open by process {os.getpid()}; close that process (or wait "
        f"for it to finish) and retry, or use a Qdrant server for concurrent access"]


def test_a_port_in_use_is_refused_before_the_store_opens_and_an_open_host_without_a_key_is_warned(store_copy):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = CliRunner().invoke(main, ["serve", "--qdrant", str(store_copy), "--port", str(port)])
        assert finished.exit_code == 2
        assert finished.output.strip() == f"error: 127.0.0.1:{port} is in use; pick another --port"
        exposed = CliRunner().invoke(main, ["serve", "--qdrant", str(store_copy), "--host", "0.0.0.0", "--port", str(port)])
    assert exposed.output.splitlines()[0].startswith("warning: listening on 0.0.0.0 without --access-key")


def test_a_key_from_the_environment_guards_the_running_server(store_copy):
    with running_server(store_copy, env={"EMBEDKIT_ACCESS_KEY": "let-me-in"}) as url:
        try:
            urllib.request.urlopen(f"{url}/api/collections", timeout=10)
            raise AssertionError("the server answered without its key")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
        request = urllib.request.Request(f"{url}/api/collections", headers={"X-API-Key": "let-me-in"})
        with urllib.request.urlopen(request, timeout=10) as answered:
            assert [collection["points"] for collection in json.load(answered)] == [36]
