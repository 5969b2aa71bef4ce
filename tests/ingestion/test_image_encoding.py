"""Where images are decoded: in this process when decoding costs little next to the encoder (worker processes
would take CPU time from it on few cores), in worker processes otherwise; the vectors are the same."""

from __future__ import annotations

import time

import numpy as np
import pytest

from embedkit import machine
from embedkit.ingestion import ingest
from embedkit.store import open_store
from tests.support.manifests import CountingEncoder
from tests.support.photos import PER_CLASS, make_photo_folder


class TimedEncoder(CountingEncoder):
    """A CountingEncoder whose forward pass and preprocessing take the seconds given."""

    def __init__(self, forward_seconds: float, preprocess_seconds: float):
        super().__init__(name="timed.v1")
        self.forward_seconds, self.preprocess_seconds = forward_seconds, preprocess_seconds

    def preprocess(self, image):
        time.sleep(self.preprocess_seconds)
        return super().preprocess(image)

    def forward_images(self, pixels):
        time.sleep(self.forward_seconds)
        return super().forward_images(pixels)


@pytest.fixture
def folder(tmp_path, photos):
    return make_photo_folder(tmp_path / "photos", photos, corrupt=False)


def stored(store, report):
    with open_store(store) as opened:
        ids = sorted(opened.stored_ids(report.collection, report.vector_name))
        return ids, opened.get_vectors(report.collection, report.vector_name, ids)


def test_cheap_decoding_next_to_a_slow_encoder_stays_in_this_process(tmp_path, folder):
    report = ingest(f"folder:{folder}", TimedEncoder(0.2, 0.0), store=tmp_path / "store", batch_size=4)
    assert report.workers == 0 and report.stored == 2 * PER_CLASS


def test_costly_decoding_next_to_a_fast_encoder_goes_to_a_worker_process_per_core(tmp_path, folder, monkeypatch):
    monkeypatch.setattr(machine, "cores_available", lambda: 3)
    report = ingest(f"folder:{folder}", TimedEncoder(0.0, 0.02), store=tmp_path / "store", batch_size=4)
    assert report.workers == 3 and report.stored == 2 * PER_CLASS


def test_the_vectors_do_not_depend_on_where_images_were_decoded(tmp_path, folder):
    chosen = ingest(f"folder:{folder}", TimedEncoder(0.0, 0.0), store=tmp_path / "a", batch_size=5)
    given = ingest(f"folder:{folder}", TimedEncoder(0.0, 0.0), store=tmp_path / "b", batch_size=5, workers=2)
    assert given.workers == 2 and chosen.workers is not None
    (ids_a, vectors_a), (ids_b, vectors_b) = stored(tmp_path / "a", chosen), stored(tmp_path / "b", given)
    assert ids_a == ids_b and len(ids_a) == 2 * PER_CLASS
    np.testing.assert_array_equal(vectors_a, vectors_b)
