"""The `embedkit` group tells an exception nobody raised on purpose by its type: a store backend's library failing
(StoreBackendError, whatever module the backend lives in) as the store's failure, anything else as a bug."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.errors import StoreBackendError
from embedkit.hookspecs import hookimpl
from embedkit.plugins import load_registry, plugin_manager
from embedkit.records import VectorRecord
from embedkit.registry import Registry
from embedkit.store import StoreCapabilities, open_store
from embedkit.store.edge.store import EdgeStore

ENCODER = VectorRecord("enc", 4, weights="w1")


class DamagedPageError(Exception):
    """What a store's own library raises: no embedkit error, and raised outside embedkit's modules."""


class DamagedStore(EdgeStore):
    """A third party's backend: Qdrant Edge whose counting fails as a damaged file would make it fail."""

    def _count(self, collection, conditions):
        raise DamagedPageError("page 7 of segment 0 is unreadable\nchecksum 0xdead, expected 0xbeef")


class UnreadableStore(EdgeStore):
    """A third party's backend whose listing of collections meets a file it may not read."""

    def _collection_names(self):
        raise PermissionError(errno.EACCES, "Permission denied", "/data/vectors/edge_config.json")


class DamagedBackendPlugin:
    @hookimpl
    def register_stores(self, register):
        for scheme, kind in (("damaged", DamagedStore), ("unreadable", UnreadableStore)):
            register(scheme, lambda location, kind=kind, **options: kind(
                location.split("://", 1)[1], embedkit_version="test", collection_options=options["collection_options"]),
                schemes=(scheme,), locations=f"{scheme}:///PATH", capabilities=StoreCapabilities(embedded=True))


@pytest.fixture
def damaged_backend(monkeypatch):
    """The plugin above loaded, with the built-ins, into a store registry filled afresh for the test."""
    plugin_manager.cache_clear()
    monkeypatch.setattr("embedkit.store.location.STORES",
                        Registry("store backend", lambda registry: load_registry("register_stores", registry)))
    plugin_manager().register(DamagedBackendPlugin(), name="damaged-backend")
    yield
    plugin_manager.cache_clear()


@pytest.fixture
def store_folder(tmp_path):
    """A sound embedded store with collection `ds` (3 points)."""
    with open_store(tmp_path / "store") as store:
        store.ensure_vector("ds", "enc", ENCODER)
        store.upsert("ds", "enc", ["s0", "s1", "s2"], np.eye(3, 4, dtype=np.float32), [{}, {}, {}])
    return tmp_path / "store"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_plugin_backends_library_error_is_the_one_line_store_failure(store_folder, damaged_backend):
    result = invoke("collections", "--qdrant", f"damaged://{store_folder}")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr == ("error: the store failed: page 7 of segment 0 is unreadable; an embedded store's files "
                             "may be damaged (ingest again into a new --qdrant folder), a server's log may say more; "
                             "`embedkit --debug ...` shows the traceback\n")
    debug = CliRunner().invoke(main, ["--debug", "collections", "--qdrant", f"damaged://{store_folder}"])
    assert isinstance(debug.exception, StoreBackendError)
    assert isinstance(debug.exception.__cause__, DamagedPageError)


def test_a_file_of_a_plugin_backend_that_cannot_be_read_is_told_as_any_file(store_folder, damaged_backend):
    result = invoke("collections", "--qdrant", f"unreadable://{store_folder}")
    assert (result.exit_code, result.stderr) == (1, "error: Permission denied '/data/vectors/edge_config.json'\n")


def test_an_exception_raised_outside_the_store_is_a_bug(store_folder, monkeypatch):
    def broken(rows):
        raise ValueError("rows must be a list")

    monkeypatch.setattr("embedkit.cli.collections.print_json", broken)
    result = invoke("collections", "--qdrant", store_folder, "--json")
    assert (result.exit_code, result.stderr) == (1, "error: unexpected ValueError: rows must be a list; this is a "
                                                    "bug in embedkit: `embedkit --debug ...` shows the traceback to "
                                                    "report\n")


def test_an_exception_of_the_stores_own_code_between_primitives_is_a_bug_not_a_damaged_store(store_folder,
                                                                                                monkeypatch):
    def broken(document):
        raise KeyError("encoder")

    monkeypatch.setattr("embedkit.store.base.schema.stored_record", broken)
    result = invoke("collections", "--qdrant", store_folder)
    assert result.exit_code == 1 and "unexpected KeyError: 'encoder'; this is a bug in embedkit" in result.stderr
