"""What only the embedded Qdrant Edge store does: its directory, its locks, and readability without embedkit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from embedkit.errors import StoreLockedError, StoreUnavailableError
from embedkit.store import default_store_path, open_store
from embedkit.store.edge.store import EdgeStore
from embedkit.records import VectorRecord

ENCODER = VectorRecord("enc", 16, "image", weights="w1", weights_sha256="00" * 32)


def fill(store, n: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.ensure_vector("fashion", "enc", ENCODER)
    store.upsert("fashion", "enc", [f"s{i}" for i in range(n)], vectors,
                 [{"dataset": "fashion", "split": "test", "label": i % 10, "label_name": f"c{i % 10}",
                   "source": f"{i}.png"} for i in range(n)])
    return vectors


def hold(script: str, tmp_path: Path) -> subprocess.Popen:
    """Run `script` in another process, which prints "ready" and then waits for stdin to close."""
    ready = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd=tmp_path)
    assert ready.stdout.readline().strip() == "ready"
    return ready


def test_default_store_lives_under_embedkit_home(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDKIT_HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / "qdrant"
    with open_store() as store:
        assert isinstance(store, EdgeStore) and Path(store.location) == (tmp_path / "home" / "qdrant").resolve()
        fill(store, n=3)
    assert (tmp_path / "home" / "qdrant" / "fashion" / "edge_config.json").is_file()


def test_a_store_held_by_another_process_is_refused_naming_the_path(tmp_path):
    root = tmp_path / "store"
    with open_store(root) as store:
        fill(store, n=5)
    holder = hold(textwrap.dedent(f"""
        from embedkit.store import open_store
        store = open_store({str(root)!r}); store.count("fashion")
        print("ready", flush=True); input()
    """), tmp_path)
    try:
        with pytest.raises(StoreLockedError, match=f"{root.resolve()} is open by process {holder.pid}"):
            open_store(root)
    finally:
        holder.communicate("")
    with open_store(root) as store:  # released when the other process ends
        assert store.count("fashion") == 5


def test_a_collection_held_by_a_plain_qdrant_edge_process_is_refused_naming_it(tmp_path):
    root = tmp_path / "store"
    with open_store(root) as store:
        fill(store, n=5)
    holder = hold(textwrap.dedent(f"""
        import qdrant_edge
        shard = qdrant_edge.EdgeShard.load({str(root / 'fashion')!r})
        print("ready", flush=True); input()
    """), tmp_path)
    try:
        with open_store(root) as store, pytest.raises(StoreLockedError, match=str(root.resolve() / "fashion")):
            store.count("fashion")
    finally:
        holder.communicate("")


def test_pointing_at_a_collection_or_a_file_is_a_clear_error(tmp_path):
    with open_store(tmp_path / "store") as store:
        fill(store, n=2)
    with pytest.raises(StoreUnavailableError, match="one collection of an embedded store"):
        open_store(tmp_path / "store" / "fashion")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreUnavailableError, match="is a file"):
        open_store(tmp_path / "file")


def test_search_after_optimize_still_finds_the_nearest(tmp_path):
    with open_store(tmp_path / "store") as store:
        vectors = fill(store, n=400)
        store.optimize()
        assert store.search("fashion", "enc", vectors[123], 1)[0].sample_id == "s123"
        assert store.count("fashion") == 400


PLAIN_EDGE_READER = """
import sys, uuid
from qdrant_edge import EdgeShard, Query, QueryRequest, Filter, FieldCondition, MatchValue

shard = EdgeShard.load(sys.argv[1] + "/fashion")
metadata_id = "00000000-0000-0000-0000-000000000000"
[meta] = shard.retrieve([metadata_id], True, False)
record = meta.payload["embedkit_metadata"]["vectors"]["enc"]
namespace = uuid.uuid5(uuid.NAMESPACE_URL, "embedkit:sample")
[sneaker] = shard.retrieve([str(uuid.uuid5(namespace, "s7"))], True, ["enc"])
hits = shard.query(QueryRequest(limit=3, query=Query.Nearest(sneaker.vector["enc"], using="enc"), with_payload=True,
                                filter=Filter(must=[FieldCondition("label", match=MatchValue(7))])))
print(record["encoder"], record["dim"], record["weights_sha256"][:4], sneaker.payload["label_name"],
      hits[0].payload["sample_id"], all(h.payload["label"] == 7 for h in hits),
      "embedkit" in sys.modules or "torch" in sys.modules)
"""


def test_a_plain_qdrant_edge_script_reads_the_documented_schema(tmp_path):
    with open_store(tmp_path / "store") as store:
        fill(store, n=50)
    script = tmp_path / "reader.py"
    script.write_text(PLAIN_EDGE_READER)
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "store")], capture_output=True, text=True,
                            cwd=tmp_path, check=True)
    assert result.stdout.split() == ["enc", "16", "0000", "c7", "s7", "True", "False"]
