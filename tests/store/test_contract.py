"""The Store contract, run against every registered built-in backend: Qdrant Edge, qdrant-client in memory and
on disk, and a real Qdrant server when EMBEDKIT_TEST_QDRANT_URL is set."""

from __future__ import annotations

import errno
import os
import uuid

import numpy as np
import pytest

from embedkit.errors import InvalidOptionError, SampleNotFoundError, SchemaMismatchError, StoreWriteError
from embedkit.records import Preprocessing, VectorRecord
from embedkit.store import METADATA_POINT_ID, STORES, Store, open_store, store_backend

BACKENDS = ["edge", "memory", "local", "server"]
REGISTERED = {"edge": "edge", "memory": "local", "local": "local", "server": "server"}
"""The registered backend each kind of store above is opened by."""
ENCODER_A = VectorRecord("enc-a", 8, "image", weights="w1", weights_sha256="ab" * 32, layer="pool", image_size=32,
                         preprocessing=Preprocessing(32, 32, "bilinear", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)))
ENCODER_B = VectorRecord("enc-b", 4, "image", weights="w2")


class Backend:
    """Opens (and reopens) one store of a kind."""

    def __init__(self, kind: str, tmp_path):
        self.kind = kind
        self.location = {
            "edge": str(tmp_path / "edge"),
            "memory": ":memory:",
            "local": f"local:{tmp_path / 'local'}",
            "server": os.environ.get("EMBEDKIT_TEST_QDRANT_URL", ""),
        }[kind]
        self.prefix = f"t{uuid.uuid4().hex[:8]}-" if kind == "server" else ""

    @property
    def persistent(self) -> bool:
        return self.kind != "memory"

    def open(self) -> Store:
        return open_store(self.location)


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    if request.param == "server" and not os.environ.get("EMBEDKIT_TEST_QDRANT_URL"):
        pytest.skip("set EMBEDKIT_TEST_QDRANT_URL to run the contract against a real Qdrant server")
    return Backend(request.param, tmp_path)


@pytest.fixture
def store(backend):
    opened = backend.open()
    yield opened
    if backend.kind == "server":
        for info in opened.collections():
            if info.name.startswith(backend.prefix):
                opened.drop(info.name)
    opened.close()


@pytest.fixture
def name(backend):
    return backend.prefix + "ds"


def clustered(n: int, dim: int, clusters: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)) * 3
    labels = np.arange(n) % clusters
    vectors = centres[labels] + rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), labels


def fill(store: Store, collection: str, n: int = 30, encoder=ENCODER_A, seed: int = 0):
    vectors, labels = clustered(n, encoder.dim, seed=seed)
    ids = [f"img-{i:03d}" for i in range(n)]
    payloads = [{"dataset": "toy", "split": "test" if i % 2 else "train", "label": int(labels[i]),
                 "label_name": f"class{labels[i]}", "source": f"/data/{i}.png"} for i in range(n)]
    store.ensure_vector(collection, encoder.encoder, encoder)
    store.upsert(collection, encoder.encoder, ids, vectors, payloads)
    return ids, vectors, labels


def test_the_contract_runs_over_every_registered_built_in_backend():
    built_in = {entry.name for entry in STORES.entries() if entry.plugin == "embedkit.store.builtin"}
    assert set(REGISTERED.values()) == built_in


def test_a_store_is_opened_by_its_backend_and_has_the_capabilities_it_registered(store, backend):
    registered = store_backend(backend.location)
    assert registered.name == REGISTERED[backend.kind]
    assert store.capabilities == registered.info["capabilities"]


def test_ensure_vector_creates_the_collection_and_records_the_encoder(store, name):
    store.ensure_vector(name, "enc-a", ENCODER_A)
    record = store.vector_record(name, "enc-a")
    assert record.encoder == "enc-a" and record.dim == 8 and record.weights == "w1"
    assert record.weights_sha256 == "ab" * 32 and record.preprocessing == ENCODER_A.preprocessing
    assert record.embedkit_version and record.differences(ENCODER_A) == []
    assert store.vector_record(name, "nope") is None
    assert store.count(name) == 0 and store.count(name, "enc-a") == 0
    [collection] = [c for c in store.collections() if c.name == name]
    assert collection.points == 0 and collection.vectors["enc-a"].dim == 8
    # fields that do not change the vectors may differ
    store.ensure_vector(name, "enc-a", ENCODER_A.replace(precision="bf16", source="torchvision 9.9", licence="x"))


def test_each_field_that_changes_the_vectors_is_compared_on_its_own(store, name):
    fill(store, name, n=3)
    other_crop = Preprocessing(32, 28, "bilinear", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    other_mean = Preprocessing(32, 32, "bilinear", (0.4, 0.5, 0.5), (0.5, 0.5, 0.5))
    for field, changed in (("preprocessing", ENCODER_A.replace(preprocessing=other_crop)),
                           ("preprocessing", ENCODER_A.replace(preprocessing=other_mean)),
                           ("layer", ENCODER_A.replace(layer="fc2")), ("text_field", ENCODER_A.replace(text_field="t"))):
        with pytest.raises(SchemaMismatchError, match=f"differs in {field}"):
            store.ensure_vector(name, "enc-a", changed)
    assert store.count(name, "enc-a") == 3


def test_a_collection_written_by_embedkit_0_1_keeps_opening(store, name):
    fill(store, name, n=3)
    legacy = {"encoder": "enc-a", "dim": 8, "distance": "Cosine", "weights": "w1", "weights_sha256": "ab" * 32,
              "layer": "pool", "image_size": 32, "modality": "image", "precision": "fp32",
              "preprocessing": "Compose(Resize(size=32) <function at 0x7f00>)", "embedkit_version": "0.1.0",
              "created_at": "2026-11-01T00:00:00+00:00", "encoder_info": {"name": "enc-a", "dim": 8}}
    store._write_metadata(name, {"schema_version": 1, "vectors": {"enc-a": legacy}})
    record = store.vector_record(name, "enc-a")
    assert record.preprocessing is None and record.details["legacy_preprocessing"].startswith("Compose(")
    store.ensure_vector(name, "enc-a", ENCODER_A)  # the structured record of today is accepted
    with pytest.raises(SchemaMismatchError, match="differs in weights_sha256"):
        store.ensure_vector(name, "enc-a", ENCODER_A.replace(weights_sha256="cd" * 32))


def test_a_collection_written_by_embedkit_0_1_has_its_first_vector_as_default(store, name):
    fill(store, name, n=3)
    fill(store, name, n=3, encoder=ENCODER_B)
    records = {vector: {"encoder": vector, "dim": dim, "created_at": f"2026-11-0{day}T00:00:00+00:00"}
               for vector, dim, day in (("enc-b", 4, 2), ("enc-a", 8, 1))}
    store._write_metadata(name, {"schema_version": 1, "vectors": records})
    assert store.default_vector(name) == "enc-a"  # made first, though written second
    store.set_default_vector(name, "enc-b")
    assert store.default_vector(name) == "enc-b"


def test_another_encoder_under_a_taken_name_fails_before_anything_is_written(store, name):
    ids, vectors, _ = fill(store, name, n=10)
    for other in (ENCODER_A.replace(encoder="resnet50"), ENCODER_A.replace(dim=16),
                  ENCODER_A.replace(weights_sha256="cd" * 32), ENCODER_A.replace(weights="w9")):
        with pytest.raises(SchemaMismatchError, match="stores vector 'enc-a' as encoder 'enc-a', dim 8"):
            store.ensure_vector(name, "enc-a", other)
    with pytest.raises(SchemaMismatchError, match="dim 8"):
        store.upsert(name, "enc-a", ["x"], np.ones((1, 16), np.float32), [{}])
    with pytest.raises(SchemaMismatchError, match="dim 8"):
        store.search(name, "enc-a", np.ones(16, np.float32), 3)
    with pytest.raises(SchemaMismatchError, match="has no vector 'enc-b'"):
        store.search(name, "enc-b", np.ones(4, np.float32), 3)
    assert store.count(name) == 10
    assert store.vector_record(name, "enc-a").weights == "w1"
    np.testing.assert_allclose(store.get_vectors(name, "enc-a", ids), vectors, atol=1e-6)


def test_named_vectors_share_points_and_keep_each_other(store, name):
    ids, vectors_a, _ = fill(store, name, n=12)
    vectors_b, _ = clustered(6, 4, seed=1)
    store.ensure_vector(name, "enc-b", ENCODER_B)
    store.upsert(name, "enc-b", ids[:6], vectors_b, [{"extra": "b"}] * 6)
    assert store.count(name) == 12
    assert store.count(name, "enc-a") == 12 and store.count(name, "enc-b") == 6
    np.testing.assert_allclose(store.get_vectors(name, "enc-a", ids), vectors_a, atol=1e-6)
    np.testing.assert_allclose(store.get_vectors(name, "enc-b", ids[:6]), vectors_b, atol=1e-6)
    hit = store.search(name, "enc-b", vectors_b[2], 1)[0]
    assert hit.sample_id == ids[2]
    assert hit.payload["extra"] == "b" and hit.payload["dataset"] == "toy" and hit.payload["label_name"]
    assert store.vector_record(name, "enc-a").encoder == "enc-a"
    assert store.vector_record(name, "enc-b").encoder == "enc-b"
    [collection] = [c for c in store.collections() if c.name == name]
    assert collection.points == 12
    assert {v: s.points for v, s in collection.vectors.items()} == {"enc-a": 12, "enc-b": 6}
    assert collection.vectors["enc-b"].record.weights == "w2"


def test_missing_ids_are_those_without_this_vector_in_input_order(store, name):
    ids, _, _ = fill(store, name, n=10)
    store.ensure_vector(name, "enc-b", ENCODER_B)
    store.upsert(name, "enc-b", ids[:3], clustered(3, 4)[0], [{}] * 3)
    asked = ["new-2", ids[5], "new-1", ids[1], ids[0]]
    assert store.missing_ids(name, "enc-a", asked) == ["new-2", "new-1"]
    assert store.missing_ids(name, "enc-b", asked) == ["new-2", ids[5], "new-1"]
    assert store.missing_ids(name, "enc-a", []) == []
    assert store.missing_ids(name + "-none", "enc-a", ["a", "b"]) == ["a", "b"]


def test_upsert_again_overwrites_without_duplicates(store, name):
    ids, vectors, _ = fill(store, name, n=20)
    fill(store, name, n=20)
    store.upsert(name, "enc-a", ids[:5], vectors[5:10], [{"label": 7}] * 5)
    assert store.count(name) == 20 and store.count(name, "enc-a") == 20
    np.testing.assert_allclose(store.get_vectors(name, "enc-a", ids[:5]), vectors[5:10], atol=1e-6)
    seen = [sid for batch_ids, _, _ in store.iter_points(name, ["enc-a"], batch_size=7) for sid in batch_ids]
    assert sorted(seen) == sorted(ids)


def test_search_returns_nearest_first_and_filters_by_payload(store, name):
    ids, vectors, labels = fill(store, name, n=30)
    hits = store.search(name, "enc-a", vectors[4], k=5)
    assert hits[0].sample_id == ids[4] and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    exact = store.search(name, "enc-a", vectors[4], k=5, exact=True)
    assert [h.sample_id for h in exact] == [h.sample_id for h in hits]
    assert {h.payload["label"] for h in store.search(name, "enc-a", vectors[4], 10, filter={"label": 2})} == {2}
    assert {h.payload["split"] for h in store.search(name, "enc-a", vectors[4], 10, filter={"split": "test"})} == {"test"}
    both = store.search(name, "enc-a", vectors[4], 30, filter={"label": [0, 2], "split": "train"})
    assert both and all(h.payload["label"] in (0, 2) and h.payload["split"] == "train" for h in both)
    assert len(store.search(name, "enc-a", vectors[4], 100)) == 30  # never the metadata point
    assert store.search(name, "enc-a", vectors[4], 3, filter={"label": 99}) == []
    with pytest.raises(InvalidOptionError, match="filter"):
        store.search(name, "enc-a", vectors[4], 3, filter={"score": 0.5})


def test_recommend_follows_examples_and_excludes_them(store, name):
    ids, _, labels = fill(store, name, n=30)
    positive = [ids[i] for i in range(30) if labels[i] == 1][:3]
    negative = [ids[i] for i in range(30) if labels[i] == 2][:2]
    hits = store.recommend(name, "enc-a", positive, negative, k=5)
    assert len(hits) == 5
    assert not {h.sample_id for h in hits} & set(positive + negative)
    assert all(h.payload["label"] == 1 for h in hits)
    filtered = store.recommend(name, "enc-a", positive, [], k=5, filter={"split": "test"})
    assert filtered and all(h.payload["split"] == "test" for h in filtered)
    with pytest.raises(SampleNotFoundError, match="no-such-id"):
        store.recommend(name, "enc-a", ["no-such-id"], [], k=3)
    with pytest.raises(InvalidOptionError):
        store.recommend(name, "enc-a", [], [], k=3)


def test_get_vectors_keeps_order_and_names_unknown_ids(store, name):
    ids, vectors, _ = fill(store, name, n=10)
    order = [7, 2, 9, 2]
    np.testing.assert_allclose(store.get_vectors(name, "enc-a", [ids[i] for i in order]), vectors[order], atol=1e-6)
    assert store.get_vectors(name, "enc-a", []).shape == (0, 8)
    with pytest.raises(SampleNotFoundError, match="'ghost'"):
        store.get_vectors(name, "enc-a", [ids[0], "ghost"])


def test_iter_points_yields_every_point_with_all_named_vectors(store, name):
    ids, vectors_a, labels = fill(store, name, n=25)
    store.ensure_vector(name, "enc-b", ENCODER_B)
    store.upsert(name, "enc-b", ids[:10], clustered(10, 4)[0], [{}] * 10)
    batches = list(store.iter_points(name, ["enc-a"], batch_size=10))
    assert [len(b[0]) for b in batches] == [10, 10, 5]
    got = {sid: (vec, payload) for b in batches for sid, vec, payload in zip(b[0], b[1]["enc-a"], b[2])}
    assert set(got) == set(ids)
    np.testing.assert_allclose(got[ids[3]][0], vectors_a[3], atol=1e-6)
    assert got[ids[3]][1]["label"] == labels[3] and got[ids[3]][1]["sample_id"] == ids[3]
    both = [sid for b in store.iter_points(name, ["enc-a", "enc-b"], batch_size=4) for sid in b[0]]
    assert sorted(both) == sorted(ids[:10])
    assert {b[1]["enc-b"].shape[1] for b in store.iter_points(name, ["enc-a", "enc-b"])} == {4}


def test_count_collections_and_drop(store, name):
    fill(store, name, n=5)
    fill(store, name + "2", n=3, encoder=ENCODER_B)
    names = {c.name: c.points for c in store.collections()}
    assert names[name] == 5 and names[name + "2"] == 3
    assert store.count(name, "enc-b") == 0 and store.count(name + "-missing") == 0
    store.drop(name + "2")
    assert name + "2" not in {c.name for c in store.collections()}
    with pytest.raises(InvalidOptionError, match="does not exist"):
        store.drop(name + "2")


def test_invalid_collection_names_are_refused(store):
    for bad in ("", "../up", ".hidden", "a/b"):
        with pytest.raises(InvalidOptionError, match="collection name"):
            store.ensure_vector(bad, "enc-a", ENCODER_A)


def test_a_reopened_store_has_everything(backend, name):
    if not backend.persistent:
        pytest.skip("an in-memory store does not outlive its process")
    with backend.open() as first:
        ids, vectors, _ = fill(first, name, n=40)
        first.ensure_vector(name, "enc-b", ENCODER_B)
        first.upsert(name, "enc-b", ids[:4], clustered(4, 4)[0], [{}] * 4)
    with backend.open() as second:
        assert second.count(name) == 40 and second.count(name, "enc-b") == 4
        assert second.vector_record(name, "enc-b").encoder == "enc-b"
        assert second.search(name, "enc-a", vectors[11], 1)[0].sample_id == ids[11]
        assert second.missing_ids(name, "enc-a", ids[:3] + ["new"]) == ["new"]
        if backend.kind == "server":
            second.drop(name)


def test_a_failed_write_reports_the_committed_count_and_a_rerun_completes(store, name, monkeypatch):
    ids, vectors, _ = fill(store, name, n=10)
    more, _ = clustered(10, 8, seed=5)
    new_ids = [f"new-{i}" for i in range(10)]
    real_upsert = type(store)._upsert

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(store), "_upsert", disk_full)
    with pytest.raises(StoreWriteError, match=r"No space left on device.*10 points with this vector are committed.*re-run"):
        store.upsert(name, "enc-a", new_ids, more, [{}] * 10)
    monkeypatch.setattr(type(store), "_upsert", real_upsert)
    missing = store.missing_ids(name, "enc-a", new_ids)
    assert missing == new_ids
    store.upsert(name, "enc-a", missing, more, [{}] * 10)
    assert store.count(name, "enc-a") == 20


def test_the_metadata_point_is_readable_by_its_documented_id(store, name):
    fill(store, name, n=3)
    if hasattr(store, "client"):
        [record] = store.client.retrieve(name, [METADATA_POINT_ID], with_payload=True)
        metadata = record.payload["embedkit_metadata"]
    else:
        [record] = store._shard(name).retrieve([METADATA_POINT_ID], True, False)
        metadata = record.payload["embedkit_metadata"]
    assert metadata["schema_version"] == 2 and metadata["vectors"]["enc-a"]["dim"] == 8
    assert metadata["vectors"]["enc-a"]["preprocessing"]["crop"] == 32


def test_vector_names_lists_a_collections_named_vectors(tmp_path):
    from embedkit.store import open_store

    with open_store(tmp_path / "edge") as store:
        assert store.vector_names("absent") == []
        store.ensure_vector("c", "b.v1", VectorRecord("b.v1", 4))
        store.ensure_vector("c", "a.v1", VectorRecord("a.v1", 8))
        assert store.vector_names("c") == ["a.v1", "b.v1"]


def test_delete_by_ids_removes_exactly_those_whole_points_and_returns_the_count(store, name, monkeypatch):
    monkeypatch.setattr("embedkit.store.base.ID_CHUNK", 4)  # several chunks, and duplicates across them
    ids, vectors, _ = fill(store, name, n=20)
    store.ensure_vector(name, "enc-b", ENCODER_B)
    store.upsert(name, "enc-b", ids[:10], clustered(10, 4)[0], [{}] * 10)
    gone = [ids[i] for i in (0, 3, 4, 5, 11, 12, 13, 17, 19)]
    assert store.count_matching(name, gone + gone[:2]) == 9
    assert store.delete(name, gone + gone[:2]) == 9
    kept = [i for i in ids if i not in gone]
    assert store.count(name) == 11 and store.count(name, "enc-a") == 11 and store.count(name, "enc-b") == 6
    assert sorted(s for b in store.iter_points(name, ["enc-a"], batch_size=4) for s in b[0]) == sorted(kept)
    assert not {h.sample_id for h in store.search(name, "enc-a", vectors[0], 100)} & set(gone)
    assert store.search(name, "enc-a", vectors[4], 1)[0].sample_id != ids[4]
    with pytest.raises(SampleNotFoundError, match=repr(ids[0])):
        store.get_vectors(name, "enc-b", [ids[0]])
    [collection] = [c for c in store.collections() if c.name == name]
    assert collection.points == 11 and {v: s.points for v, s in collection.vectors.items()} == {"enc-a": 11, "enc-b": 6}
    assert store.delete(name, gone) == 0 and store.delete(name, []) == 0


def test_delete_by_filter_removes_exactly_the_matching_points(store, name):
    ids, vectors, labels = fill(store, name, n=30)
    assert store.count_matching(name, filter={"label": 1}) == 10
    assert store.delete(name, filter={"label": 1}) == 10
    assert store.count(name) == 20
    assert {h.payload["label"] for h in store.search(name, "enc-a", vectors[1], 100)} == {0, 2}
    assert store.delete(name, filter={"label": [0, 2], "split": "test"}) == 10
    left = {s for b in store.iter_points(name, ["enc-a"]) for s in b[0]}
    assert left == {ids[i] for i in range(30) if labels[i] != 1 and i % 2 == 0}
    assert store.delete(name, filter={"label": 99}) == 0 and store.count(name) == 10


def test_delete_keeps_the_metadata_point_and_the_schema(store, name):
    ids, vectors, _ = fill(store, name, n=6)
    assert store.delete(name, ids) == 6
    assert store.delete(name, filter={"dataset": "toy"}) == 0
    assert store.count(name) == 0 and store.vector_record(name, "enc-a").weights == "w1"
    assert store.vector_names(name) == ["enc-a"]
    [collection] = [c for c in store.collections() if c.name == name]
    assert collection.points == 0 and collection.vectors["enc-a"].dim == 8
    store.ensure_vector(name, "enc-a", ENCODER_A)
    store.upsert(name, "enc-a", ids[:2], vectors[:2], [{"label": 0}] * 2)
    assert store.count(name) == 2 and store.search(name, "enc-a", vectors[1], 1)[0].sample_id == ids[1]


def test_delete_does_not_count_unknown_ids(store, name):
    ids, _, _ = fill(store, name, n=5)
    assert store.delete(name, ["ghost", ids[2], "phantom", METADATA_POINT_ID]) == 1
    assert store.count(name) == 4 and store.vector_record(name, "enc-a") is not None


def test_delete_refuses_neither_both_an_empty_filter_and_a_missing_collection_in_one_line(store, name):
    ids, _, _ = fill(store, name, n=5)
    refused = {
        "--id ID.*--filter FIELD=VALUE.*pass one of them": {},
        "not both": {"sample_ids": ids[:1], "filter": {"label": 0}},
        "empty filter.*embedkit collections drop": {"filter": {}},
        "filter score=0.5 is not supported": {"filter": {"score": 0.5}},
        r"must be a list; pass \['img-000'\]": {"sample_ids": ids[0]},
    }
    for message, arguments in refused.items():
        for call in (store.delete, store.count_matching):
            with pytest.raises(InvalidOptionError, match=message) as raised:
                call(name, **arguments)
            assert "\n" not in str(raised.value)
    with pytest.raises(InvalidOptionError, match="does not exist.*embedkit collections"):
        store.delete(name + "-missing", ids)
    assert store.count(name) == 5


def test_after_delete_missing_ids_lists_exactly_the_deleted_ids_and_a_reingest_restores_them(store, name):
    ids, vectors, _ = fill(store, name, n=12)
    gone = [ids[2], ids[7], ids[8]]
    store.delete(name, gone)
    assert store.missing_ids(name, "enc-a", ids) == gone
    missing = store.missing_ids(name, "enc-a", ids)
    store.upsert(name, "enc-a", missing, vectors[[2, 7, 8]], [{"label": 0}] * 3)
    assert store.count(name) == 12 and store.missing_ids(name, "enc-a", ids) == []
    np.testing.assert_allclose(store.get_vectors(name, "enc-a", gone), vectors[[2, 7, 8]], atol=1e-6)


def test_deleted_points_stay_deleted_in_a_reopened_store(backend, name):
    if not backend.persistent:
        pytest.skip("an in-memory store does not outlive its process")
    with backend.open() as first:
        ids, vectors, _ = fill(first, name, n=20)
        assert first.delete(name, ids[:5]) == 5
        assert first.delete(name, filter={"label": 2}) == 5
    with backend.open() as second:
        assert second.count(name) == 10
        assert second.missing_ids(name, "enc-a", ids) == [s for i, s in enumerate(ids) if i < 5 or i % 3 == 2]
        assert second.count_matching(name, filter={"label": 2}) == 0
        assert second.vector_record(name, "enc-a").encoder == "enc-a"
        if backend.kind == "server":
            second.drop(name)


def test_a_failed_delete_keeps_the_cause_and_says_how_many_points_are_left(store, name, monkeypatch):
    ids, _, _ = fill(store, name, n=8)

    def server_gone(self, *args, **kwargs):
        raise ConnectionError("connection reset by peer")

    monkeypatch.setattr(type(store), "_delete", server_gone)
    with pytest.raises(StoreWriteError, match=r"connection reset by peer.*3 matching points are left.*again") as raised:
        store.delete(name, ids[:3])
    assert isinstance(raised.value.__cause__, ConnectionError)
    assert store.count(name) == 8


def test_search_batch_gives_each_row_the_hits_search_gives_and_drops_those_under_the_threshold(store, name):
    ids, vectors, _ = fill(store, name, n=30)
    queries = vectors[[0, 7, 7, 19]]
    batches = store.search_batch(name, "enc-a", queries, k=5)
    assert len(batches) == 4
    for query, hits in zip(queries, batches):
        single = store.search(name, "enc-a", query, k=5)
        assert [h.sample_id for h in hits] == [h.sample_id for h in single]
        np.testing.assert_allclose([h.score for h in hits], [h.score for h in single], atol=1e-5)
        assert hits[0].payload["source"].startswith("/data/")
    cut = (batches[1][1].score + batches[1][2].score) / 2
    kept = store.search_batch(name, "enc-a", queries[1:2], k=5, score_threshold=cut)[0]
    assert [h.sample_id for h in kept] == [h.sample_id for h in batches[1][:2]]
    filtered = store.search_batch(name, "enc-a", queries, k=30, filter={"split": "train"})
    assert all(h.payload["split"] == "train" for hits in filtered for h in hits) and len(filtered[0]) == 15
    assert store.search_batch(name, "enc-a", np.zeros((0, 8), np.float32), k=5) == []
    slim = store.search_batch(name, "enc-a", queries, k=5, fields=["split"])
    assert [[(h.sample_id, h.score) for h in hits] for hits in slim] == \
        [[(h.sample_id, h.score) for h in hits] for hits in batches]
    assert all(set(h.payload) == {"sample_id", "split"} for hits in slim for h in hits)
    assert all(set(h.payload) == {"sample_id"} for hits in store.search_batch(name, "enc-a", queries, k=5, fields=())
               for h in hits)
    with pytest.raises(SchemaMismatchError, match="dim 8"):
        store.search_batch(name, "enc-a", np.zeros((2, 4), np.float32), k=5)


def test_delete_payload_fields_removes_only_those_fields_of_stored_points(store, name):
    ids, _, _ = fill(store, name, n=6)
    store.set_payloads(name, {i: {"mark": 1, "note": "x"} for i in ids})
    store.delete_payload_fields(name, [ids[0], ids[1], "not-stored"], ["mark", "absent"])
    payloads = {i: p for batch, _, ps in store.iter_points(name, ["enc-a"]) for i, p in zip(batch, ps)}
    assert "mark" not in payloads[ids[0]] and "mark" not in payloads[ids[1]]
    assert all(payloads[i]["mark"] == 1 for i in ids[2:])
    assert all(payloads[i]["note"] == "x" and payloads[i]["label_name"].startswith("class") for i in ids)
    assert store.count(name) == 6


def test_index_field_indexes_a_payload_field_that_filters_and_remembers_it(backend, name):
    with backend.open() as store:
        ids, vectors, labels = fill(store, name, n=12)
        store.set_payloads(name, {i: {"cluster": int(label)} for i, label in zip(ids, labels)})
        store.index_field(name, "cluster", "integer")
        store.index_field(name, "cluster", "integer")  # again: nothing changes
        store.index_field(name, "label", "integer")  # every collection's own: kept as it is
        assert store.indexed_fields(name) == {"dataset": "keyword", "split": "keyword", "label": "integer",
                                              "sample_id": "keyword", "cluster": "integer"}
        hits = store.search(name, "enc-a", vectors[0], k=12, filter={"cluster": 1})
        assert {h.sample_id for h in hits} == {i for i, label in zip(ids, labels) if label == 1}
        for field, kind, says in (("a b", "integer", "invalid payload field name"), ("x", "float", "unknown payload "
                                  "index kind 'float'"), ("label", "keyword", "holds integer values in every")):
            with pytest.raises(InvalidOptionError, match=says):
                store.index_field(name, field, kind)
        with pytest.raises(InvalidOptionError, match="does not exist"):
            store.index_field(name + "-missing", "cluster")
        if backend.kind == "edge":
            assert "cluster" in store._shard(name).info().payload_schema
        if backend.kind == "server":
            assert "cluster" in store.client.get_collection(name).payload_schema
    if backend.persistent:
        with backend.open() as reopened:
            assert reopened.indexed_fields(name)["cluster"] == "integer"
            assert len(reopened.stored_ids(name, "enc-a", {"cluster": 2})) == 4
            if backend.kind == "server":
                reopened.drop(name)


def test_facet_counts_each_value_of_an_indexed_field_and_label_names_read_one_point_each(store, name):
    fill(store, name, n=30)  # labels 0, 1, 2 ten times each; splits train and test fifteen times each
    assert store.facet(name, "label") == {0: 10, 1: 10, 2: 10}
    assert store.facet(name, "split") == {"train": 15, "test": 15}
    assert store.facet(name, "label", limit=1) in ({0: 10}, {1: 10}, {2: 10})
    assert store.label_names(name, [0, 2, 7]) == {0: "class0", 2: "class2"}
    with pytest.raises(InvalidOptionError, match="no payload index; index it first"):
        store.facet(name, "source")


def test_payloads_are_read_whole_by_sample_id_leaving_out_unknown_ids(store, name):
    fill(store, name, n=4)
    found = store.payloads(name, ["img-001", "nope", "img-002"])
    assert set(found) == {"img-001", "img-002"}
    assert found["img-001"]["source"] == "/data/1.png" and found["img-002"]["split"] == "train"
