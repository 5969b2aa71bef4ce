"""The neighbour scan asks the index in batches and hands each point its own neighbours, in the points' order."""

from __future__ import annotations

import numpy as np

from embedkit.analysis import neighbours
from embedkit.analysis.neighbours import stored_neighbours
from embedkit.analysis.vectors import stored_vectors
from embedkit.store import open_store
from tests.analysis.test_mistakes_and_ranking import blobs, put


def test_batches_give_every_point_its_exact_neighbours_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(neighbours, "QUERY_BATCH", 7)  # 120 points: 18 batches
    vectors, labels = blobs(5)
    put(tmp_path / "store", "c", vectors, labels)
    heard = []
    with open_store(tmp_path / "store") as store:
        points = stored_vectors(store, "c", "v", None)
        found = list(stored_neighbours(store, "c", "v", points, 4, None, heard.append))
    assert [n for n, _ in found] == list(range(len(points.ids)))
    cosines = points.vectors @ points.vectors.T
    np.fill_diagonal(cosines, -np.inf)
    for n, hits in found:
        assert points.ids[n] not in {h.sample_id for h in hits}
        expected = [points.ids[m] for m in np.argsort(-cosines[n], kind="stable")[:4]]
        assert [h.sample_id for h in hits[:4]] == expected
        assert all(set(h.payload) == {"sample_id"} for h in hits)
    assert (heard[-1].done, heard[-1].total, heard[-1].unit) == (len(points.ids), len(points.ids), "points")
