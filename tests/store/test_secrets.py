"""A password or API key given for a Qdrant server (in the URL, with --api-key or $QDRANT_API_KEY) reaches the
server and nothing else: not stdout, stderr, logs, errors, `Store.location` or benchmark result files."""

from __future__ import annotations

import base64
import http.server
import json
import logging
import socket
import threading

import numpy as np
import pytest
import qdrant_client
from click.testing import CliRunner

import embedkit.store.client.store as client_module
from embedkit.cli import main
from embedkit.cli.options import StoreLocation
from embedkit.errors import StoreUnavailableError
from embedkit.records import VectorRecord
from embedkit.store import open_store
from embedkit.store.urls import redacted
from tests.support.photos import make_photo_folder

PASSWORD = "s3cr3tPW-9f2c"
KEY = "K3Y-5ecret-77a1"
SECRETS = (PASSWORD, KEY, base64.b64encode(f"admin:{PASSWORD}".encode()).decode())

pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection",
                                        "ignore:Payload indexes have no effect")


class Answering(http.server.ThreadingHTTPServer):
    """Answers every request with `status` and `body`, and keeps the headers it was sent."""

    def __init__(self, status: int, body: bytes):
        super().__init__(("127.0.0.1", 0), Handler)
        self.status, self.body, self.seen = status, body, []


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.seen.append(dict(self.headers))
        body = self.server.body.replace(b"HEADERS", json.dumps(dict(self.headers)).encode())  # echo: worst case
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve():
    servers = []

    def start(status: int, body: bytes = b'{"status": {"error": "Unauthorized"}, "echo": HEADERS}') -> Answering:
        server = Answering(status, body)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch, caplog):
    monkeypatch.setattr(client_module, "CONNECT_BACKOFF_S", (0.01, 0.01))
    monkeypatch.delenv("QDRANT_API_KEY", raising=False)
    caplog.set_level(logging.DEBUG)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_hidden(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def url(port: int, *, password: bool = True, key: bool = False) -> str:
    return f"http://{f'admin:{PASSWORD}@' if password else ''}127.0.0.1:{port}/{f'?api_key={KEY}' if key else ''}"


@pytest.mark.parametrize("location, shown", [
    ("http://admin:s3cr3t@host:6333", "http://***@host:6333"),
    ("https://s3cr3t@host", "https://***@host"),
    ("http://host:6333/?api_key=s3cr3t&other=x#frag", "http://host:6333/?api_key=***&other=***#***"),
    ("http://a:p/ss@host:1", "http://***@host:1"),
    ("http://a:p?ss@host:1", "http://***@host:1"),
    ("http://localhost:6333", "http://localhost:6333"),
    ("/data/store", "/data/store"), ("local:/tmp/q", "local:/tmp/q"), ("user@host:store", "user@host:store"),
])
def test_a_location_is_shown_without_its_credentials_and_redacting_twice_changes_nothing(location, shown):
    assert redacted(location) == shown and redacted(shown) == shown


def test_a_server_refusing_the_password_in_the_url_is_reported_without_it(serve, caplog):
    server = serve(401)
    ran = invoke("collections", "--qdrant", url(server.server_port))
    assert ran.exit_code == 1
    assert "refused the user name and password in the URL (HTTP 401)" in " ".join(ran.stderr.split())
    assert f"http://***@127.0.0.1:{server.server_port}" in ran.stderr
    assert_hidden(ran.stdout, ran.stderr, caplog.text)
    assert server.seen[0]["authorization"] == f"Basic {SECRETS[2]}"  # sent, as HTTP basic auth


@pytest.mark.parametrize("given", ["option", "environment", "url"])
def test_an_api_key_reaches_the_server_and_is_never_printed(given, serve, caplog, monkeypatch):
    server = serve(403)
    args = ["collections", "--qdrant", url(server.server_port, password=False, key=given == "url")]
    if given == "option":
        args += ["--api-key", KEY]
    if given == "environment":
        monkeypatch.setenv("QDRANT_API_KEY", KEY)
    ran = invoke(*args)
    assert ran.exit_code == 1 and "refused the API key (HTTP 403)" in ran.stderr
    assert_hidden(ran.stdout, ran.stderr, caplog.text)
    assert server.seen[0]["api-key"] == KEY


def test_a_server_that_wants_a_key_gets_advice_naming_the_option_that_exists(serve):
    server = serve(401)
    ran = invoke("collections", "--qdrant", f"http://127.0.0.1:{server.server_port}")
    assert ran.exit_code == 1 and "asks for an API key (HTTP 401); pass --api-key KEY or set QDRANT_API_KEY" in \
        " ".join(ran.stderr.split())
    assert "--api-key" in invoke("collections", "--help").stdout


@pytest.mark.parametrize("status, body", [(500, b"HEADERS"), (200, b"garbage HEADERS")])
def test_retry_warnings_and_the_final_error_hide_the_credentials_whatever_the_server_answers(status, body, serve,
                                                                                           caplog):
    server = serve(status, body)
    ran = invoke("collections", "--qdrant", url(server.server_port, key=True))
    assert ran.exit_code == 1 and "after 3 attempts" in ran.stderr
    warnings = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(warnings) == 2 and all("http://***@127.0.0.1" in w and "api_key=***" in w for w in warnings)
    assert_hidden(ran.stdout, ran.stderr, caplog.text)
    assert server.seen[0]["api-key"] == KEY


@pytest.mark.parametrize("grpc", [False, True])
def test_a_server_refusing_connections_is_reported_without_the_credentials(grpc, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ran = invoke("collections", "--qdrant", url(port, key=True), *(["--grpc"] if grpc else []))
    assert ran.exit_code == 1 and f"cannot reach the Qdrant server at http://***@127.0.0.1:{port}/?api_key=***" \
        in " ".join(ran.stderr.split())
    assert_hidden(ran.stdout, ran.stderr, caplog.text)
    with pytest.raises(StoreUnavailableError) as raised:
        open_store(url(port), api_key=KEY)
    assert_hidden(str(raised.value), repr(raised.value))


def test_the_key_and_password_stay_out_of_the_store_location_its_repr_and_the_help(monkeypatch):
    location = StoreLocation(url(6333), api_key=KEY)
    assert_hidden(repr(location), location.shown, str(location))
    monkeypatch.setenv("QDRANT_API_KEY", KEY)
    assert_hidden(invoke("search", "--help").stdout, invoke("collections", "--help").stdout)


@pytest.fixture
def in_memory_server(monkeypatch):
    """qdrant-client's in-memory mode behind any server URL; what embedkit handed to QdrantClient, per call."""
    made = []

    def client(**kwargs):
        made.append(kwargs)
        return qdrant_client.QdrantClient(location=":memory:")

    monkeypatch.setattr(client_module, "QdrantClient", client)
    return made


def test_push_names_its_target_without_the_credentials_which_only_the_client_gets(in_memory_server, tmp_path,
                                                                                  caplog):
    with open_store(tmp_path / "store") as store:
        store.ensure_vector("ds", "enc", VectorRecord("enc", 4, weights="w1"))
        store.upsert("ds", "enc", ["a", "b"], np.eye(2, 4, dtype=np.float32), [{}, {}])
    target = f"http://admin:{PASSWORD}@qdrant.example:6333/?api_key={KEY}"
    pushed = invoke("push", "-c", "ds", "--to", target, "--qdrant", tmp_path / "store")
    assert pushed.exit_code == 0, pushed.output
    assert "pushed 2 points of ds/enc to http://***@qdrant.example:6333/?api_key=***" in pushed.stderr
    as_json = invoke("push", "-c", "ds", "--to", target, "--qdrant", tmp_path / "store", "--json")
    assert json.loads(as_json.stdout)["to"] == "http://***@qdrant.example:6333/?api_key=***"
    assert_hidden(pushed.stdout, pushed.stderr, as_json.stdout, as_json.stderr, caplog.text)
    (given, *_) = in_memory_server
    assert given["url"] == "http://qdrant.example:6333" and given["api_key"] == KEY
    assert given["headers"] == {"authorization": f"Basic {SECRETS[2]}"}


def test_bench_results_and_the_collections_title_show_the_server_without_the_credentials(in_memory_server, tmp_path,
                                                                                         photos, caplog):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    server = f"http://admin:{PASSWORD}@qdrant.example:6333/?api_key={KEY}"
    ran = invoke("bench", "-d", f"folder:{folder}", "-e", "mobilenet_v2.random", "--image-size", 32, "--workers", 0,
                 "--full", "--qdrant", server, "--out-dir", tmp_path / "out")
    assert ran.exit_code == 0, ran.output
    (written,) = (tmp_path / "out").glob("*.json")
    assert json.loads(written.read_text())["provenance"]["store"] == "http://***@qdrant.example:6333/?api_key=***"
    listed = invoke("collections", "--qdrant", server)
    assert listed.exit_code == 0 and "http://***@qdrant.example:6333/?api_key=***" in "".join(listed.stdout.split())
    assert_hidden(ran.stdout, ran.stderr, listed.stdout, listed.stderr, caplog.text,
                  *(path.read_text() for path in (tmp_path / "out").rglob("*") if path.is_file()))


def test_store_options_before_a_collections_subcommand_are_kept_with_those_after_it(serve, caplog):
    server = serve(403)
    ran = invoke("collections", "--api-key", KEY, "drop", "some", "--yes", "--qdrant",
                 f"http://127.0.0.1:{server.server_port}")
    assert ran.exit_code == 1 and "refused the API key (HTTP 403)" in ran.stderr
    assert server.seen[0]["api-key"] == KEY
    assert_hidden(ran.stdout, ran.stderr, caplog.text)
