"""Every primitive a backend implements is declared once, in StoreBackend: the abstract ones, and the optional
ones with their default; the classes that build the public methods on them declare none."""

from __future__ import annotations

import ast
import inspect

import pytest

from embedkit.store import Store, StoreCapabilities, base, bulk_load, metadata, payloads
from embedkit.store.backend import StoreBackend
from embedkit.store.client.store import ClientStore
from embedkit.store.edge.store import EdgeStore

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
