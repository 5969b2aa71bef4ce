"""The map the web page draws: a PCA of a collection's stored vectors, computed once per collection state."""

from __future__ import annotations

import numpy as np

from embedkit.analysis.maps import project
from embedkit.analysis.vectors import NO_LABEL, stored_vectors
from embedkit.serve.schemas import MapOut, MapPoint
from embedkit.serve.state import ServerState


def pca_map(server: ServerState, collection: str, vector_name: str) -> MapOut:
    """At most `settings.map_points` points (a seeded random sample), kept until the collection's size changes."""
    key = (collection, vector_name, server.store.count(collection, vector_name))
    with server.maps_lock:
        if key in server.maps:
            return server.maps[key]
    data = stored_vectors(server.store, collection, vector_name, None, require_labels=False)
    total = len(data.ids)
    if total > server.settings.map_points:
        picked = np.sort(np.random.default_rng(0).choice(total, server.settings.map_points, replace=False))
        data = data.subset(picked)
    xy, _ = project(data.vectors, "pca")
    points = [MapPoint(id=sample_id, x=float(x), y=float(y), label=None if label == NO_LABEL else int(label),
                       label_name=None if label == NO_LABEL else data.label_name(label), split=split)
              for sample_id, (x, y), label, split in zip(data.ids, xy, data.labels, data.splits)]
    made = MapOut(collection=collection, vector=vector_name, method="pca", total=total, points=points)
    with server.maps_lock:
        server.maps[key] = made
    return made
