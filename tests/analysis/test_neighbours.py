"""The neighbour scan asks the index in batches on several threads and still hands each point its own neighbours,
in the points' order."""

from __future__ import annotations

import numpy as np

from embedkit.analysis import neighbours
from embedkit.analysis.neighbours import stored_neighbours
from embedkit.analysis.vectors import stored_vectors
from embedkit.store import open_store
from tests.analysis.test_mistakes_and_ranking import blobs, put


def test_threads_give_every_point_its_exact_neighbours_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(neighbours, "QUERY_BATCH", 7)  # 120 points: 18 batches, more than the threads keep ahead
    vectors, labels = blobs(5)
    put(tmp_path / "store", "c", vectors, labels)
    heard = []
    with open_store(tmp_path / "store") as store:
        points = stored_vectors(store, "c", "v", None)
        alone = list(stored_neighbours(store, "c", "v", points, 4, None, None, threads=1))
        together = list(stored_neighbours(store, "c", "v", points, 4, None, lambda *a: heard.append(a), threads=3))
    assert [n for n, _ in together] == list(range(len(points.ids)))
    assert [[h.sample_id for h in hits] for _, hits in together] == [[h.sample_id for h in hits] for _, hits in alone]
    cosines = points.vectors @ points.vectors.T
    np.fill_diagonal(cosines, -np.inf)
    for n, hits in together:
        assert points.ids[n] not in {h.sample_id for h in hits}
        expected = [points.ids[m] for m in np.argsort(-cosines[n], kind="stable")[:4]]
        assert [h.sample_id for h in hits[:4]] == expected
        assert all(set(h.payload) == {"sample_id"} for h in hits)
    assert (heard[-1][0].done, heard[-1][0].total, heard[-1][0].unit) == (len(points.ids), len(points.ids), "points")
