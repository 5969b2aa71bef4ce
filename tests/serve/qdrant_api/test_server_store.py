"""The Qdrant API over a store that is not embedded (qdrant-client's local mode, the server backend's code): the same
answers as that store gives directly."""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client import QdrantClient
from qdrant_client import models as m

from embedkit.store import point_id
from tests.serve.qdrant_api.conftest import COLLECTION, POINTS, fill, serving

pytestmark = pytest.mark.filterwarnings("ignore:(Payload indexes|Local mode)")


def test_reads_over_a_client_store_equal_its_own_calls(tmp_path):
    location = f"local:{tmp_path / 'local'}"
    fill(location, ("images", "texts"))  # qdrant-client's local mode takes no ':' in a vector name
    with serving(location) as server:
        client = QdrantClient(url=server.qdrant, prefer_grpc=False)
        store = server.store
        assert type(store).__name__ == "ClientStore"
        info = client.get_collection(COLLECTION)
        assert {n: p.size for n, p in info.config.params.vectors.items()} == {"images": 8, "texts": 4}
        assert info.points_count == POINTS
        label_1 = m.Filter(must=[m.FieldCondition(key="label", match=m.MatchValue(value=1))])
        assert client.count(COLLECTION, count_filter=label_1).count == store.count_points(COLLECTION, label_1) == 10
        vector = store.point_vectors(COLLECTION, "images", [point_id("sample/001")])[0]
        got = client.query_points(COLLECTION, query=vector.tolist(), using="images", limit=5).points
        direct = store.nearest_points(COLLECTION, "images", vector, limit=5)
        assert [p.id for p in got] == [r.id for r in direct]
        assert np.allclose([p.score for p in got], [r.score for r in direct], atol=1e-5)
        assert got[0].payload["sample_id"] == "sample/001"
        client.close()
