"""What only the qdrant-client backend does: reaching a server, adding a vector on an old server,
and readability of its collections with qdrant_client alone."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from qdrant_client.http.exceptions import UnexpectedResponse

from embedkit.errors import StoreLockedError, StoreUnavailableError, StoreWriteError
from embedkit.store import open_store
from embedkit.store.client.store import BACKUP_SUFFIX, ClientStore
from embedkit.records import VectorRecord

ENC_A = VectorRecord("enc-a", 8, weights="w1")
ENC_B = VectorRecord("enc-b", 4, weights="w2")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fill(store, n: int = 20):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"s{i}" for i in range(n)]
    store.ensure_vector("ds", "enc-a", ENC_A)
    store.upsert("ds", "enc-a", ids, vectors, [{"label": i % 2, "split": "test"} for i in range(n)])
    return ids, vectors


@pytest.mark.parametrize("grpc", [False, True])
def test_an_unreachable_server_fails_quickly_after_bounded_retries(grpc):
    url = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=rf"cannot reach the Qdrant server at {url} over .* after 3 attempts"):
        open_store(url, grpc=grpc)
    assert time.monotonic() - started < 8


def test_the_api_key_comes_from_the_environment(monkeypatch):
    seen = {}

    def fake_connect(url, *, grpc, api_key, embedkit_version, collection_options):
        seen.update(url=url, grpc=grpc, api_key=api_key)
        return "store"

    monkeypatch.setenv("QDRANT_API_KEY", "from-env")
    monkeypatch.setattr(ClientStore, "connect", staticmethod(fake_connect))
    assert open_store("https://qdrant.example:6333", grpc=True) == "store"
    assert seen == {"url": "https://qdrant.example:6333", "grpc": True, "api_key": "from-env"}
    open_store("https://qdrant.example:6333", api_key="given")
    assert seen["api_key"] == "given"


def test_a_local_path_open_twice_is_refused(tmp_path):
    with open_store(f"local:{tmp_path / 'q'}"):
        with pytest.raises(StoreLockedError, match=str(tmp_path / "q")):
            open_store(f"local:{tmp_path / 'q'}")


def _too_old(*args, **kwargs):
    raise UnexpectedResponse(404, "Not Found", b"", httpx.Headers())


def test_a_server_that_cannot_add_a_named_vector_gets_the_collection_recreated(monkeypatch):
    store = open_store(":memory:")
    ids, vectors = fill(store)
    monkeypatch.setattr(store.client, "create_vector_name", _too_old)
    store.ensure_vector("ds", "enc-b", ENC_B)
    store.upsert("ds", "enc-b", ids[:5], np.eye(5, 4, dtype=np.float32), [{}] * 5)
    assert store.count("ds") == 20 and store.count("ds", "enc-b") == 5
    np.testing.assert_allclose(store.get_vectors("ds", "enc-a", ids), vectors, atol=1e-6)
    assert store.vector_record("ds", "enc-a").weights == "w1" and store.vector_record("ds", "enc-b").weights == "w2"
    assert store.search("ds", "enc-a", vectors[3], 1, filter={"label": 1})[0].sample_id == "s3"
    assert not store.client.collection_exists("ds" + BACKUP_SUFFIX)


def test_a_failed_recreation_leaves_every_point_in_the_backup(monkeypatch):
    store = open_store(":memory:")
    fill(store)
    monkeypatch.setattr(store.client, "create_vector_name", _too_old)
    real_copy = ClientStore._copy

    def copy_then_fail(self, source, target, expected):
        if target == "ds":
            raise OSError("connection reset")
        real_copy(self, source, target, expected)

    monkeypatch.setattr(ClientStore, "_copy", copy_then_fail)
    with pytest.raises(StoreWriteError, match=r"every point is safe in 'ds\.embedkit-backup'"):
        store.ensure_vector("ds", "enc-b", ENC_B)
    assert store.client.count("ds" + BACKUP_SUFFIX, exact=True).count == 21  # 20 samples + the metadata point
    with pytest.raises(StoreWriteError, match="interrupted"):
        store.ensure_vector("ds", "enc-b", ENC_B)


PLAIN_CLIENT_READER = """
import sys, uuid
from qdrant_client import QdrantClient, models

client = QdrantClient(path=sys.argv[1])
[meta] = client.retrieve("ds", ["00000000-0000-0000-0000-000000000000"], with_payload=True)
record = meta.payload["embedkit_metadata"]["vectors"]["enc-a"]
namespace = uuid.uuid5(uuid.NAMESPACE_URL, "embedkit:sample")
[point] = client.retrieve("ds", [str(uuid.uuid5(namespace, "s3"))], with_vectors=["enc-a"])
hits = client.query_points("ds", query=point.vector["enc-a"], using="enc-a", limit=2,
    query_filter=models.Filter(must=[models.FieldCondition(key="label", match=models.MatchValue(value=1))])).points
print(record["encoder"], record["dim"], hits[0].payload["sample_id"], "embedkit" in sys.modules)
"""


def test_a_plain_qdrant_client_script_reads_the_documented_schema(tmp_path):
    with open_store(f"local:{tmp_path / 'q'}") as store:
        fill(store)
    script = tmp_path / "reader.py"
    script.write_text(PLAIN_CLIENT_READER)
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "q")], capture_output=True, text=True,
                            check=True, cwd=tmp_path)
    assert result.stdout.split() == ["enc-a", "8", "s3", "False"]
