"""What a request must pass before its body is read: the Host, the key, the size and the nesting of the body;
against a running server, a chunked body over a limit is refused after a few megabytes, not read in full."""

from __future__ import annotations

import io
import os
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from embedkit.serve import ServeSettings, create_app
from embedkit.serve.guard import host_name
from embedkit.store import open_store
from tests.serve.running import running_server

MiB = 2**20
DEEP = "[" * 3000 + "]" * 3000


@pytest.fixture(scope="module")
def opened(served):
    with open_store(served.store) as store:
        yield store


def search(served) -> str:
    return f"/api/collections/{served.collection}/search"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


def test_host_names_lose_their_port_and_brackets():
    assert [host_name(value) for value in ("[::1]:8000", "Example.ORG:80", "::1", "localhost", "")] == [
        "::1", "example.org", "::1", "localhost", ""]


def test_a_host_the_server_does_not_serve_is_a_403_and_an_allowed_one_answers(opened):
    client = TestClient(create_app(opened, ServeSettings(allowed_hosts=("127.0.0.1", "search.lan"))),
                        base_url="http://127.0.0.1:8000")
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/health", headers={"host": "search.lan:8000"}).status_code == 200
    rebound = client.get("/api/collections", headers={"host": "attacker.example"})
    assert rebound.status_code == 403
    assert rebound.json()["detail"].startswith("this server does not answer for host 'attacker.example'")
    assert client.get("/", headers={"host": "192.168.1.9:8000"}).status_code == 403
    everywhere = TestClient(create_app(opened, ServeSettings(allowed_hosts=("localhost",), any_address=True)),
                            base_url="http://localhost")
    assert everywhere.get("/api/health", headers={"host": "192.168.1.9:8000"}).status_code == 200
    assert everywhere.get("/api/health", headers={"host": "attacker.example"}).status_code == 403
    assert TestClient(create_app(opened)).get("/api/health").status_code == 403  # TestClient's `testserver` is no loophole


def test_the_key_is_checked_before_the_body_is_read(opened, served):
    client = TestClient(create_app(opened, ServeSettings(api_key="s3cret")), base_url="http://localhost")
    read = []

    def body():
        read.append(1)
        yield b'{"id": "x"}'

    refused = client.post(search(served), content=body(), headers={"content-type": "application/json"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "X-API-Key"
    assert refused.json()["detail"].startswith("this server needs its API key")
    unknown = client.get("/api/nowhere")
    assert unknown.status_code == 401
    assert client.get("/api/health").status_code == 200 and client.get("/openapi.json").status_code == 200


def test_a_deep_filter_is_a_400_in_a_json_body_and_in_a_form(opened, served):
    client = TestClient(create_app(opened), raise_server_exceptions=False, base_url="http://localhost")
    body = client.post(search(served), content='{"id": "x", "filter": %s}' % DEEP,
                       headers={"content-type": "application/json"})
    assert body.status_code == 400
    assert body.json()["detail"] == "the JSON body nests arrays and objects deeper than 32 levels; send a flatter one"
    form = client.post(f"{search(served)}/image", files={"image": ("a.png", png(), "image/png")}, data={"filter": DEEP})
    assert form.status_code == 400
    assert form.json()["detail"] == "filter nests arrays and objects deeper than 32 levels; send a flatter one"
    shallow = client.post(search(served), json={"id": "x", "filter": {"label": [1, 2]}})
    assert shallow.status_code == 404  # past the guard: an unknown id


def test_a_json_body_over_its_limit_is_a_413_with_or_without_a_length(opened, served):
    client = TestClient(create_app(opened, ServeSettings(max_json_bytes=1000)), base_url="http://localhost")
    text = '{"text": "%s"}' % ("a" * 2000)
    announced = client.post(search(served), content=text, headers={"content-type": "application/json"})
    assert announced.status_code == 413 and "limit of 0.000953674 MiB for JSON" in announced.json()["detail"]
    streamed = client.post(search(served), content=iter([text[:600].encode(), text[600:].encode()]),
                           headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and "--max-json-mb" in streamed.json()["detail"]


def chunked(total: int, sent: list[int], head: bytes = b"", watch: Path | None = None, largest: list[int] | None = None):
    """`total` bytes in 1 MiB chunks, counting what was taken (and the size of `watch` as it was taken)."""
    yield head
    chunk = b"\0" * MiB
    while sent[0] < total:
        sent[0] += len(chunk)
        if watch is not None and largest is not None:
            largest[0] = max(largest[0], sum(entry.stat().st_size for entry in watch.iterdir() if entry.is_file()))
        yield chunk


def post_chunked(url: str, content, content_type: str, **headers: str) -> int | None:
    """The status of the answer, or None when the server closed the connection before the client finished."""
    try:
        return httpx.post(url, content=content, headers={"content-type": content_type, **headers}, timeout=30).status_code
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


def test_a_chunked_body_without_the_key_or_over_the_limit_is_refused_early(store_copy, served, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    with running_server(store_copy, "--max-upload-mb", "1", "--max-json-mb", "1",
                        env={"EMBEDKIT_ACCESS_KEY": "s3cret", "TMPDIR": str(temporary)}) as url:
        before = rss_mib(url.pid)
        endpoint = f"{url}{search(served)}"
        boundary = "xyz"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
                f"Content-Type: image/png\r\n\r\n").encode()
        multipart = f"multipart/form-data; boundary={boundary}"
        for key, content_type, target, prefix in (
                ("", multipart, f"{endpoint}/image", head), ("", "application/json", endpoint, b'{"text": "'),
                ("s3cret", multipart, f"{endpoint}/image", head), ("s3cret", "application/json", endpoint, b'{"text": "')):
            sent, largest = [0], [0]
            status = post_chunked(target, chunked(300 * MiB, sent, prefix, temporary, largest), content_type,
                                  **({"x-api-key": key} if key else {}))
            assert status in ((401 if not key else 413), None), (key, content_type, status)
            assert sent[0] < 40 * MiB, f"the server read {sent[0] / MiB:.0f} MiB of a refused body ({key!r}, {content_type})"
            assert largest[0] < 4 * MiB
        assert rss_mib(url.pid) - before < 60
        assert os.listdir(temporary) == []
