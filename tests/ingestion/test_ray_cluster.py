"""Ingest on a Ray cluster of three nodes on this machine (a head and two workers, one CPU each, started by
ray.cluster_utils.Cluster), one worker node killed mid-ingest: the ingest finishes on the others, every sample is
stored once, and the vectors are those of an ingest in one process.

Three nodes on a shared 2-core machine take a minute or more, so the test runs only when asked:
EMBEDKIT_CLUSTER_TESTS=1 (benchmarks/shards.py times the same on more images)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from embedkit.ingestion import IngestOptions, ingest
from embedkit.store import open_store
from tests.support.manifests import CountingEncoder

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
RayIngest = pytest.importorskip("embedkit.ingestion.ray").RayIngest
cluster_utils = pytest.importorskip("ray.cluster_utils")

pytestmark = pytest.mark.skipif(os.environ.get("EMBEDKIT_CLUSTER_TESTS") != "1",
                                reason="three Ray nodes take a minute here: set EMBEDKIT_CLUSTER_TESTS=1")


class SlowEncoder(CountingEncoder):
    """Takes a moment per batch, so that the ingest is still going when a node is killed."""

    def forward_images(self, pixels):
        import time

        time.sleep(0.3)
        return super().forward_images(pixels)


def stored(location, report):
    with open_store(location) as store:
        ids = sorted(store.stored_ids(report.collection, report.vector_name))
        return ids, store.get_vectors(report.collection, report.vector_name, ids), store.count(report.collection)


def test_a_node_killed_mid_ingest_leaves_every_sample_stored_once_as_one_process_stores_it(tmp_path, made_shards):
    dataset = f"webdataset:{made_shards.webdataset}"
    cluster = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    killed: list[int] = []

    def kill_a_node(state):
        if state.stored and not killed:
            cluster.remove_node(workers[0], allow_graceful=False)  # kill -9 of its raylet and workers
            killed.append(state.stored)

    try:
        alive = [node for node in ray.nodes() if node["Alive"]]
        assert len(alive) == 3
        report = ingest(dataset, SlowEncoder(), store=tmp_path / "ray", batch_size=2, progress=kill_a_node,
                        options=IngestOptions(ray=RayIngest(actors=1)))
        assert killed and killed[0] < made_shards.count, "no node died while samples were left"
        assert len([node for node in ray.nodes() if node["Alive"]]) == 2
    finally:
        ray.shutdown()
        cluster.shutdown()
    one = ingest(dataset, CountingEncoder(), store=tmp_path / "one", batch_size=2)
    ids_ray, vectors_ray, points = stored(tmp_path / "ray", report)
    ids_one, vectors_one, _ = stored(tmp_path / "one", one)
    assert not report.failures and ids_ray == ids_one and len(set(ids_ray)) == made_shards.count
    assert points == made_shards.count  # every sample once
    np.testing.assert_allclose(vectors_ray, vectors_one, atol=1e-5)
