"""Every primitive a backend implements is declared once, in StoreBackend: the abstract ones, and the optional
ones with their default; the classes that build the public methods on them declare none. A primitive's failure
in its library's own exception reaches the store's callers as StoreBackendError."""

from __future__ import annotations

import ast
import errno
import inspect

import numpy as np
import pytest

from embedkit.errors import InvalidOptionError, StoreBackendError, StoreReadError, StoreWriteError
from embedkit.store import Store, StoreCapabilities, base, bulk_load, metadata, payloads
from embedkit.store.backend import PRIMITIVES, StoreBackend
from embedkit.store.client.store import ClientStore
from embedkit.store.edge.store import EdgeStore
from embedkit.store.points import Conditions

BUILDERS = [cls for cls in Store.__mro__ if issubclass(cls, StoreBackend) and cls is not StoreBackend]
"""Store and the classes it joins (the metadata point, payloads, bulk loads)."""


def called_on_self(module) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
            and not node.attr.startswith("__")}


def own(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("__") and name != "_abc_impl"}


def test_every_method_the_public_methods_call_is_theirs_or_a_primitive_of_store_backend():
    called = set().union(*(called_on_self(module) for module in (base, metadata, payloads, bulk_load)))
    primitives = called - set().union(*(own(cls) for cls in BUILDERS))
    assert primitives <= own(StoreBackend), sorted(primitives - own(StoreBackend))
    assert {"_retrieve", "_upsert", "_facet", "_create_field_index", "_set_indexing_threshold"} <= primitives


def test_no_class_that_builds_the_public_methods_declares_a_primitive():
    for cls in BUILDERS:
        assert not own(cls) & own(StoreBackend), (cls.__name__, sorted(own(cls) & own(StoreBackend)))


def test_the_required_primitives_are_abstract_and_the_built_in_backends_implement_them_all():
    assert Store.__abstractmethods__ == StoreBackend.__abstractmethods__
    assert {"_query", "_scroll", "_facet", "_create_field_index", "capabilities"} <= StoreBackend.__abstractmethods__
    assert EdgeStore.__abstractmethods__ == ClientStore.__abstractmethods__ == frozenset()
    with pytest.raises(TypeError, match="abstract"):
        Store()


def test_a_capability_left_out_is_false():
    assert StoreCapabilities(remote=True) == StoreCapabilities(False, True, False, False, False)


class LibraryError(Exception):
    """What a backend's own library raises."""


class FailingStore(EdgeStore):
    """A backend whose primitives fail as its library makes them fail, and one that handles its own failure."""

    def _count(self, collection, conditions):
        raise LibraryError("segment 3 is damaged\nmore lines of detail")

    def _facet(self, collection, field, limit, conditions):
        raise InvalidOptionError("an embedkit error of the backend")

    def _vector_dims(self, collection):
        try:
            self._count(collection, Conditions())  # its own primitive: the library's error, for its own except
        except LibraryError:
            return {"enc": 4}
        raise AssertionError("unreachable")

    def _upsert(self, collection, vector_name, ids, vectors, payloads):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_primitive_raises_store_backend_error_from_its_librarys_error_and_lets_embedkit_errors_pass(tmp_path):
    with FailingStore(tmp_path / "store", embedkit_version="test") as store:
        with pytest.raises(StoreBackendError) as failed:
            store._count("ds", Conditions())
        assert str(failed.value) == ("the store failed: segment 3 is damaged; an embedded store's files may be "
                                     "damaged (ingest again into a new --qdrant folder), a server's log may say more")
        assert isinstance(failed.value.__cause__, LibraryError) and isinstance(failed.value, StoreReadError)
        with pytest.raises(InvalidOptionError, match="an embedkit error of the backend"):
            store._facet("ds", "label", 10, Conditions())
        assert store._vector_dims("ds") == {"enc": 4}  # the backend's own except saw its library's error
        with pytest.raises(StoreBackendError):  # and the next call from the store is classified again
            store._count("ds", Conditions())


def test_a_failed_write_quotes_the_librarys_error_and_keeps_it_as_its_cause(tmp_path):
    with FailingStore(tmp_path / "store", embedkit_version="test") as store:
        EdgeStore._create_collection(store, "ds", "enc", 4)
        store._write_metadata("ds", {"vectors": {}})
        with pytest.raises(StoreWriteError) as failed:
            store.upsert("ds", "enc", ["s0"], np.ones((1, 4), np.float32), [{}])
    assert str(failed.value).startswith("writing 1 points to 'ds'/'enc' failed ([Errno 28] No space left on device); ")
    assert isinstance(failed.value.__cause__, OSError) and not isinstance(failed.value, StoreBackendError)


def test_every_primitive_of_a_backend_is_classified_and_the_optional_ones_by_default():
    for backend in (EdgeStore, ClientStore, FailingStore, StoreBackend):
        for name in PRIMITIVES:
            assert getattr(getattr(backend, name), "_classified", False), (backend.__name__, name)
    assert {"_upsert", "_scroll", "flush", "close", "_set_indexing_threshold"} <= PRIMITIVES
    assert "capabilities" not in PRIMITIVES
