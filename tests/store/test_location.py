"""What a store location may be: a folder (made by the first write, never by a read), an http(s) server URL,
:memory: or local:PATH, or what a plugin's backend opens; anything else is refused with one line that says what
is accepted."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.errors import InvalidOptionError, StoreBackendError, StoreLockedError, StoreUnavailableError
from embedkit.hookspecs import hookimpl
from embedkit.plugins import load_registry, plugin_manager
from embedkit.records import VectorRecord
from embedkit.registry import Registry
from embedkit.store import StoreCapabilities, open_store, store_backend
from embedkit.store.client.store import ClientStore
from embedkit.store.edge.store import EdgeStore
from embedkit.store.urls import parse_server_url

ENCODER = VectorRecord("enc", 4, weights="w1")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def fill(store, n: int = 3) -> None:
    store.ensure_vector("ds", "enc", ENCODER)
    store.upsert("ds", "enc", [f"s{i}" for i in range(n)], np.eye(n, 4, dtype=np.float32), [{} for _ in range(n)])


@pytest.mark.parametrize("location, says", [
    ("http://[::1", "an IPv6 address needs both brackets"),
    ("http://127.0.0.1:99999", "port is not a number from 1 to 65535"),
    ("http://127.0.0.1:0", "has port 0"),
    ("http://h:port", "port is not a number"),
    ("http://", "names no host"),
    ("https://:6333", "names no host"),
    ("", "the store location is empty"),
    ("   ", "the store location is empty"),
    ("ftp://x/", "scheme ftp://, which embedkit does not read; give a folder, a Qdrant server http(s)://HOST:PORT"),
    ("grpc://h:6334", "for gRPC write http(s)://HOST:6334 and pass --grpc"),
    ("http:/h:6333", "is not a URL; write http(s)://HOST:PORT"),
    ("localhost:6333", "write http://localhost:6333 (or ./localhost:6333 for a folder of that name)"),
    ("local:", "names no folder; write local:PATH"),
    ("http://h:6333/?timeout=3", "has a query embedkit does not read"),
])
def test_a_location_that_names_no_store_is_refused_in_one_line_and_creates_nothing(location, says, tmp_path,
                                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in (["collections"], ["search", "-c", "ds", "--like", "s0"], ["delete", "-c", "ds", "--id", "s0"]):
        ran = invoke(*command, "--qdrant", location)
        assert ran.exit_code == 2, ran.output
        assert ran.stderr.startswith("error: ") and says in " ".join(ran.stderr.split()), ran.stderr
        assert len(ran.stderr.strip().splitlines()) <= 3 and "Traceback" not in ran.output  # one line, maybe wrapped
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InvalidOptionError):
        open_store(location)


@pytest.mark.parametrize("location, backend", [
    ("store", "edge"), ("data/store", "edge"), ("./localhost:6333", "edge"), ("/abs/store", "edge"),
    (r"C:\Users\me\store", "edge"), ("http://localhost:6333", "server"), ("HTTPS://qdrant.example", "server"),
    (":memory:", "local"), ("local:/tmp/q", "local"), (":memory:x", "edge"),
])
def test_folders_server_urls_and_the_client_local_modes_are_opened_by_their_registered_backend(location, backend):
    assert store_backend(location).name == backend


def test_a_server_url_is_taken_apart_into_what_qdrant_client_gets_and_the_credentials():
    server = parse_server_url("HTTP://ad%40min:p%40ss@[::1]:6333/qdrant/?api_key=K3Y")
    assert server.url == "http://[::1]:6333/qdrant"
    assert server.api_key == "K3Y" and server.basic_auth == ("ad@min", "p@ss")
    assert server.shown == "HTTP://***@[::1]:6333/qdrant/?api_key=***"
    assert server.headers()["authorization"].startswith("Basic ")
    plain = parse_server_url("https://qdrant.example")
    assert (plain.url, plain.api_key, plain.basic_auth, plain.headers()) == ("https://qdrant.example", None, None, {})


def test_reading_a_store_folder_that_does_not_exist_does_not_create_it_and_says_so(tmp_path, caplog):
    missing = tmp_path / "nonexistent" / "store"
    said = f"there is no embedded store at {missing}: the folder does not exist"
    search = invoke("search", "-c", "ds", "--like", "s0", "--qdrant", missing)
    assert search.exit_code == 2 and "collection 'ds' does not exist" in search.stderr and said in caplog.text
    caplog.clear()
    listing = invoke("collections", "--qdrant", missing)
    assert listing.exit_code == 0 and "collection / vector" in listing.stdout and said in caplog.text
    assert invoke("collections", "--qdrant", missing, "--json").stdout.strip() == "[]"
    for command in (["export", "-c", "ds", "-o", tmp_path / "x.csv"], ["collections", "drop", "ds", "--yes"],
                    ["delete", "-c", "ds", "--id", "s0"], ["push", "-c", "ds", "--to", tmp_path / "elsewhere"]):
        ran = invoke(*command, "--qdrant", missing)
        assert ran.exit_code == 2 and "does not exist" in ran.stderr, (command, ran.output)
    with open_store(missing) as store:
        assert store.collections() == [] and store.count("ds") == 0 and store.vector_names("ds") == []
        assert store.vector_record("ds", "enc") is None and store.default_vector("ds") is None
        with pytest.raises(InvalidOptionError, match="does not exist"):
            store.delete("ds", ["s0"])
    assert not (tmp_path / "nonexistent").exists() and not (tmp_path / "elsewhere").exists()


def test_the_first_write_creates_the_store_folder_and_locks_it(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    with open_store("relative/store") as store:  # a relative folder stays allowed
        assert not (tmp_path / "relative").exists() and store.vector_names("ds") == []
        fill(store)
        assert store.location == str(tmp_path / "relative" / "store")
        with pytest.raises(StoreLockedError):
            open_store(tmp_path / "relative" / "store")
    with open_store(tmp_path / "relative" / "store") as reopened:
        assert [info.name for info in reopened.collections()] == ["ds"] and reopened.count("ds") == 3
    assert "there is no embedded store" not in caplog.text  # the ingest that created it is not told it is missing


def test_a_store_folder_that_cannot_be_made_fails_at_the_first_write_in_one_line(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with open_store(tmp_path / "file" / "store") as store:
        assert store.collections() == []
        with pytest.raises(StoreUnavailableError, match="cannot create the embedded store directory"):
            store.ensure_vector("ds", "enc", ENCODER)


def test_reading_a_local_mode_store_that_does_not_exist_leaves_no_folder_behind(tmp_path):
    with open_store(f"local:{tmp_path / 'never'}") as store:
        assert store.collections() == []
    assert not (tmp_path / "never").exists()
    with open_store(f"local:{tmp_path / 'written'}") as store:  # a write keeps it, as before
        store.ensure_vector("c", "v", VectorRecord("enc", 4))
    with open_store(f"local:{tmp_path / 'written'}") as store:
        assert [c.name for c in store.collections()] == ["c"]


def test_a_backends_library_failing_to_open_a_store_is_a_store_backend_error(tmp_path, monkeypatch):
    def damaged(cls, path, **options):
        raise EOFError("Ran out of input")  # what unpickling a truncated local-mode store raises

    monkeypatch.setattr(ClientStore, "local", classmethod(damaged))
    with pytest.raises(StoreBackendError, match="^the store failed: Ran out of input; ") as failed:
        open_store(f"local:{tmp_path / 'q'}")
    assert isinstance(failed.value.__cause__, EOFError)


class UrlFolderStore(EdgeStore):
    """A third party's backend: an embedded store named by a URL of its own scheme, fake:///PATH."""


class FakeBackendPlugin:
    @hookimpl
    def register_stores(self, register):
        register("fake", lambda location, **options: UrlFolderStore(
            location.removeprefix("fake://"), embedkit_version="test", collection_options=options["collection_options"]),
            schemes=("fake",), locations="fake:///PATH", capabilities=StoreCapabilities(embedded=True))


@pytest.fixture
def fake_backend(monkeypatch):
    """The plugin above loaded, with the built-ins, into a store registry filled afresh for the test."""
    plugin_manager.cache_clear()
    monkeypatch.setattr("embedkit.store.location.STORES",
                        Registry("store backend", lambda registry: load_registry("register_stores", registry)))
    plugin_manager().register(FakeBackendPlugin(), name="fake-backend")
    yield
    plugin_manager.cache_clear()


def test_a_plugin_registers_a_backend_for_its_url_scheme_and_open_store_and_the_cli_find_it(tmp_path, fake_backend):
    location = f"fake://{tmp_path / 'store'}"
    with open_store(location) as store:
        assert isinstance(store, UrlFolderStore) and store.capabilities == StoreCapabilities(embedded=True)
        fill(store)
    assert store_backend(location).name == "fake" and store_backend(location).plugin == "fake-backend"
    listed = invoke("collections", "--qdrant", location, "--json")
    assert listed.exit_code == 0, listed.output
    assert [(c["name"], c["points"]) for c in json.loads(listed.stdout)] == [("ds", 3)]
    assert store_backend(str(tmp_path)).name == "edge"  # the built-ins keep theirs


def test_an_unknown_scheme_is_refused_in_one_line_naming_the_locations_the_backends_open(fake_backend):
    ran = invoke("collections", "--qdrant", "nope://x")
    assert ran.exit_code == 2 and "Traceback" not in ran.output
    assert ("scheme nope://, which embedkit does not read; give a folder, fake:///PATH, a Qdrant server "
            "http(s)://HOST:PORT, :memory: or local:PATH") in " ".join(ran.stderr.split())
