"""Ingest on a local Ray cluster (2 CPUs): the same points and vectors as an ingest in one process, into the
embedded store and into qdrant-client's local mode; an interrupted run resumes; a worker that dies has its
batch done again, neither lost nor written twice."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from embedkit.errors import InvalidOptionError
from embedkit.ingestion import IngestOptions, ingest
from embedkit.store import open_store
from tests.support.manifests import CountingEncoder
from tests.support.photos import PER_CLASS, make_photo_folder

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
RayIngest = pytest.importorskip("embedkit.ingestion.ray").RayIngest

ENCODER = "mobilenet_v2.random"
IMAGES = 2 * PER_CLASS


@pytest.fixture(scope="module", autouse=True)
def local_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture
def folder(tmp_path, photos):
    return make_photo_folder(tmp_path / "photos", photos, corrupt=False)


def stored(location, report):
    with open_store(location) as store:
        ids = sorted(store.stored_ids(report.collection, report.vector_name))
        vectors = store.get_vectors(report.collection, report.vector_name, ids)
        payloads = store.payloads(report.collection, ids)
        return ids, vectors, payloads


@pytest.mark.parametrize("kind", ["embedded", "client-local"])
def test_ray_stores_the_same_points_and_vectors_as_one_process(tmp_path, folder, kind):
    one = str(tmp_path / "one") if kind == "embedded" else f"local:{tmp_path / 'one'}"
    on_ray = str(tmp_path / "ray") if kind == "embedded" else f"local:{tmp_path / 'ray'}"
    single = ingest(f"folder:{folder}", ENCODER, store=one, image_size=32, batch_size=4)
    distributed = ingest(f"folder:{folder}", ENCODER, store=on_ray, image_size=32, batch_size=4,
                         options=IngestOptions(ray=RayIngest(actors=2)))
    assert single.stored == distributed.stored == IMAGES and not distributed.failures
    ids_one, vectors_one, payloads_one = stored(one, single)
    ids_ray, vectors_ray, payloads_ray = stored(on_ray, distributed)
    assert ids_ray == ids_one and len(ids_one) == IMAGES
    np.testing.assert_allclose(vectors_ray, vectors_one, atol=1e-5)
    assert payloads_ray == payloads_one
    again = ingest(f"folder:{folder}", ENCODER, store=on_ray, image_size=32, options=IngestOptions(ray=RayIngest()))
    assert again.stored == 0 and again.already_stored == IMAGES


def test_an_interrupted_ray_ingest_resumes_where_it_stopped(tmp_path, folder):
    def stop_after_first_batch(state):
        if state.encoded:
            raise KeyboardInterrupt

    first = ingest(f"folder:{folder}", ENCODER, store=tmp_path / "store", image_size=32, batch_size=4,
                   options=IngestOptions(ray=RayIngest()), progress=stop_after_first_batch)
    assert first.interrupted and 0 < first.stored < IMAGES
    rest = ingest(f"folder:{folder}", ENCODER, store=tmp_path / "store", image_size=32, batch_size=4,
                  options=IngestOptions(ray=RayIngest()))
    assert not rest.interrupted and rest.already_stored == first.stored
    assert first.stored + rest.stored == IMAGES
    ids, vectors, _ = stored(tmp_path / "store", rest)
    assert len(ids) == len(set(ids)) == IMAGES and np.isfinite(vectors).all()


class DiesOnceEncoder(CountingEncoder):
    """Kills its own process (as an out-of-memory kill would) on the first batch any process sees."""

    def __init__(self, marker: Path):
        super().__init__(name="dies-once.v1")
        self.marker = str(marker)

    def forward_images(self, pixels):
        try:
            descriptor = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return super().forward_images(pixels)
        os.close(descriptor)
        os._exit(1)


def test_the_batch_of_a_worker_that_died_is_done_again_not_lost_nor_doubled(tmp_path, folder):
    marker = tmp_path / "died"
    report = ingest(f"folder:{folder}", DiesOnceEncoder(marker), store=tmp_path / "store", batch_size=4,
                    options=IngestOptions(ray=RayIngest(actors=1)))
    assert marker.exists(), "the actor never died: the test did not test a retry"
    assert report.stored == IMAGES and not report.failures
    ids, vectors, _ = stored(tmp_path / "store", report)
    assert len(ids) == IMAGES
    expected = ingest(f"folder:{folder}", CountingEncoder(name="dies-once.v1"), store=tmp_path / "one", batch_size=4)
    np.testing.assert_allclose(vectors, stored(tmp_path / "one", expected)[1], atol=1e-6)


def test_ray_options_out_of_range_are_refused_in_one_line():
    with pytest.raises(InvalidOptionError, match="actors"):
        RayIngest(actors=0)
    with pytest.raises(InvalidOptionError, match="batch size"):
        RayIngest(batch_size=0)


@pytest.mark.parametrize("kind", ["webdataset", "parquet"])
def test_shards_are_read_by_ray_datas_own_reader_and_stored_as_one_process_stores_them(tmp_path, made_shards,
                                                                                         monkeypatch, kind):
    from embedkit.ingestion import ray as ray_ingest

    readers = []
    real = ray_ingest.read_shards
    monkeypatch.setattr(ray_ingest, "read_shards", lambda *args: readers.append(args[1]) or real(*args))
    dataset = f"{kind}:{made_shards.webdataset if kind == 'webdataset' else made_shards.parquet}"
    single = ingest(dataset, CountingEncoder(), store=tmp_path / "one", batch_size=4)
    distributed = ingest(dataset, CountingEncoder(), store=tmp_path / "ray", batch_size=4,
                         options=IngestOptions(ray=RayIngest()))
    assert [shards.reader for shards in readers] == [kind] and len(readers[0].files) > 1
    assert single.stored == distributed.stored == made_shards.count and not distributed.failures
    ids_one, vectors_one, payloads_one = stored(tmp_path / "one", single)
    ids_ray, vectors_ray, payloads_ray = stored(tmp_path / "ray", distributed)
    assert ids_ray == ids_one and payloads_ray == payloads_one
    np.testing.assert_allclose(vectors_ray, vectors_one, atol=1e-5)
