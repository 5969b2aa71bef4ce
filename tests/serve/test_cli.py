"""`embedkit serve` as a command: what it refuses before it starts, and a key given in the environment."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
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


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_the_server_within_5_seconds_with_requests_in_flight(store_copy, tmp_path, stop):
    results = tmp_path / "results"
    results.mkdir()
    os.mkfifo(results / "fifo.json")  # a bench result nobody writes: the /bench request blocks in its thread
    with running_server(store_copy, "--results", str(results)) as url:
        def hang(path: str, data: bytes | None = None) -> None:
            try:
                urllib.request.urlopen(urllib.request.Request(f"{url}{path}", data=data), timeout=30)
            except OSError:
                pass

        def never_finished() -> Iterator[bytes]:  # a client that starts a body and never ends it
            yield b'{"text": "'
            time.sleep(30)

        collection = "/api/collections/" + json.load(urllib.request.urlopen(f"{url}/api/collections"))[0]["name"]
        for target, args in ((hang, (f"{collection}/bench",)), (hang, (f"{collection}/search", never_finished()))):
            threading.Thread(target=target, args=args, daemon=True).start()
        time.sleep(1.5)
        interrupted = time.monotonic()
        url.process.send_signal(stop)
        try:
            url.process.wait(10)
        finally:
            took = time.monotonic() - interrupted
        stderr = url.process.stderr.read()
    assert took < 5, f"the server took {took:.1f} s to stop"
    assert url.process.returncode == (130 if stop == signal.SIGINT else 143)
    assert "Traceback" not in stderr and "CancelledError" not in stderr, stderr


def test_a_missing_or_empty_key_file_is_refused_in_one_line(store_copy, tmp_path):
    empty = tmp_path / "empty-key"
    empty.write_text("\n")
    import os

    os.mkfifo(tmp_path / "fifo")  # reading it would wait for a writer for ever
    for path, why in ((tmp_path / "nowhere", "no such file"), (tmp_path, "a folder, not a regular file"),
                      (tmp_path / "fifo", "a FIFO, not a regular file"), (empty, "is empty")):
        finished = CliRunner().invoke(main, ["serve", "--qdrant", str(store_copy), "--access-key-file", str(path)])
        assert finished.exit_code == 2 and why in finished.output
        assert finished.output.startswith(f"error: --access-key-file {path}")
    both = CliRunner().invoke(main, ["serve", "--qdrant", str(store_copy), "--access-key", "a", "--access-key-file",
                                     str(empty)])
    assert both.exit_code == 2 and "not both" in both.output


def test_a_key_from_a_file_and_the_allowed_hosts_guard_the_running_server(store_copy, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("from-a-file\n")
    with running_server(store_copy, "--access-key-file", str(key_file), "--allow-host", "search.lan") as url:
        assert "from-a-file" not in " ".join(Path(f"/proc/{url.pid}/cmdline").read_text().split("\0"))

        def status(host: str | None = None, key: str | None = None) -> int:
            headers = {**({"Host": host} if host else {}), **({"X-API-Key": key} if key else {})}
            try:
                with urllib.request.urlopen(urllib.request.Request(f"{url}/api/collections", headers=headers),
                                            timeout=10) as answered:
                    return answered.status
            except urllib.error.HTTPError as refused:
                return refused.code

        assert status() == 401 and status(key="from-a-file") == 200
        assert status("search.lan:8000", "from-a-file") == 200 and status("localhost", "from-a-file") == 200
        assert status("attacker.example", "from-a-file") == 403
