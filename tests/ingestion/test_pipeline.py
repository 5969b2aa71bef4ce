"""Ingest: streaming into the store, idempotent, resumable after Ctrl-C, kill -9 and write failures."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from embedkit import get_encoder
from embedkit.errors import ImageLoadError, SchemaMismatchError, StoreWriteError
from embedkit.ingestion import IngestOptions, default_collection_name, ingest
from embedkit.store import open_store
from embedkit.records import VectorRecord
from tests.support.photos import PER_CLASS, make_photo_folder

GOOD = 2 * PER_CLASS


@pytest.fixture(scope="module")
def encoder():
    return get_encoder("mobilenet_v2.random", image_size=64, device="cpu")


@pytest.fixture
def folder(tmp_path, photos):
    return make_photo_folder(tmp_path / "photos", photos)


def stored_ids(location, collection, vector):
    with open_store(location) as store:
        ids = [i for batch, _, _ in store.iter_points(collection, [vector]) for i in batch]
        return ids, store.count(collection)


def test_ingest_stores_every_readable_image_once_and_reports_the_corrupt_one(folder, tmp_path, encoder):
    location = tmp_path / "store"
    report = ingest(f"folder:{folder}", encoder, store=location, batch_size=4, workers=2)
    assert (report.total, report.stored, report.already_stored) == (GOOD + 1, GOOD, 0)
    assert [f.sample_id for f in report.failures] == ["folder/cat/broken.jpg"]
    assert str(folder / "cat" / "broken.jpg") in report.failures[0].source
    assert report.collection == "folder-photos" and report.vector_name == "mobilenet_v2.random-64px"

    ids, points = stored_ids(location, report.collection, report.vector_name)
    assert points == GOOD and len(set(ids)) == GOOD

    with open_store(location) as store:
        (hit,) = store.search(report.collection, report.vector_name, encoder.encode_images([folder / "cat" / "3.jpg"])[0], 1)
        assert hit.sample_id == "folder/cat/3.jpg"
        assert hit.payload["label_name"] == "cat" and hit.payload["dataset"] == f"folder:{folder}"
        assert store.vector_record(report.collection, report.vector_name).encoder == "mobilenet_v2.random"


def test_running_again_encodes_nothing(folder, tmp_path, encoder):
    location = tmp_path / "store"
    ingest(f"folder:{folder}", encoder, store=location, workers=0)
    again = ingest(f"folder:{folder}", encoder, store=location, workers=0)
    assert (again.stored, again.already_stored) == (0, GOOD)
    assert stored_ids(location, again.collection, again.vector_name)[1] == GOOD


def test_strict_stops_at_the_first_unreadable_image(folder, tmp_path, encoder):
    with pytest.raises(ImageLoadError, match="broken.jpg"):
        ingest(f"folder:{folder}", encoder, store=tmp_path / "store", options=IngestOptions(strict=True), workers=0, batch_size=64)


def test_ctrl_c_keeps_what_was_encoded_and_a_rerun_finishes(folder, tmp_path, encoder):
    location = tmp_path / "store"

    def interrupt_after_first_batch(state):
        if state.encoded:
            raise KeyboardInterrupt

    first = ingest(f"folder:{folder}", encoder, store=location, batch_size=4, workers=0,
                   progress=interrupt_after_first_batch)
    assert first.interrupted and first.stored == 4
    rest = ingest(f"folder:{folder}", encoder, store=location, batch_size=4, workers=0)
    assert (rest.stored, rest.already_stored) == (GOOD - 4, 4)
    ids, points = stored_ids(location, rest.collection, rest.vector_name)
    assert points == GOOD and len(set(ids)) == GOOD


def test_a_failing_write_stops_the_run_and_a_rerun_completes_it(folder, tmp_path, encoder, monkeypatch):
    location = tmp_path / "store"
    store = open_store(location)
    real_upsert = store.upsert
    calls = []

    def disk_full_on_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise StoreWriteError("writing 4 points failed (No space left on device); 4 points are committed")
        return real_upsert(*args, **kwargs)

    monkeypatch.setattr(store, "upsert", disk_full_on_second_batch)
    with pytest.raises(StoreWriteError, match="No space left"):
        ingest(f"folder:{folder}", encoder, store=store, batch_size=4, workers=0)
    assert store.count("folder-photos") == 4
    store.close()

    rest = ingest(f"folder:{folder}", encoder, store=location, batch_size=4, workers=0)
    assert rest.stored == GOOD - 4
    assert stored_ids(location, rest.collection, rest.vector_name)[1] == GOOD


def test_another_encoder_under_a_taken_vector_name_fails_before_writing(folder, tmp_path, encoder):
    location = tmp_path / "store"
    with open_store(location) as store:
        store.ensure_vector("folder-photos", encoder.vector_name, VectorRecord("something-else", 99))
    with pytest.raises(SchemaMismatchError, match="something-else"):
        ingest(f"folder:{folder}", encoder, store=location, workers=0)
    assert stored_ids(location, "folder-photos", encoder.vector_name)[1] == 0


def test_kill_9_then_resume_ends_with_the_exact_count_and_no_duplicates(folder, tmp_path):
    location = tmp_path / "store"
    script = textwrap.dedent(f"""
        import sys, time
        from embedkit.ingestion import ingest
        def slow(state):
            print("stored", state.stored, flush=True)
            time.sleep(0.5)
        ingest("folder:{folder}", "mobilenet_v2.random", image_size=64, device="cpu",
               store="{location}", batch_size=2, workers=0, progress=slow)
        print("finished", flush=True)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            if line.startswith("stored") and int(line.split()[1]) >= 4:
                break
        process.kill()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -9

    with open_store(location) as store:
        partial = store.count("folder-photos")
    assert 4 <= partial < GOOD
    resumed = ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=64, device="cpu",
                     store=location, workers=0)
    assert resumed.stored == GOOD - partial
    ids, points = stored_ids(location, "folder-photos", resumed.vector_name)
    assert points == GOOD and sorted(ids) == sorted(set(ids))


def test_collection_names_come_from_the_dataset():
    assert default_collection_name("fashion-mnist") == "fashion-mnist"
    assert default_collection_name("folder:/data/My Shoes/") == "folder-My-Shoes"
    assert default_collection_name("manifest:/x/captions.csv") == "manifest-captions"
    assert default_collection_name("webdataset:/data/laion/*.tar") == "webdataset-laion"  # a glob: its folder
    assert default_collection_name("parquet:/data/laion/part-0*.parquet") == "parquet-laion"


def test_vectors_in_the_store_equal_the_encoders_own(folder, tmp_path, encoder):
    location = tmp_path / "store"
    report = ingest(f"folder:{folder}", encoder, store=location, workers=2)
    with open_store(location) as store:
        stored = store.get_vectors(report.collection, report.vector_name, ["folder/coffee/2.jpg"])
    np.testing.assert_allclose(stored, encoder.encode_images([folder / "coffee" / "2.jpg"]), atol=1e-5)


def test_ingest_decodes_big_jpegs_at_a_reduced_scale_unless_told_not_to(tmp_path, photos):
    from embedkit.images import ReadOptions, load_image

    folder = tmp_path / "big" / "cat"
    folder.mkdir(parents=True)
    path = folder / "cat.jpg"
    photos["cat"].resize((2048, 1536)).save(path, quality=90)
    encoder = get_encoder("mobilenet_v2.random", device="cpu")
    stored = {}
    for reduced in (True, False):
        store = tmp_path / f"store-{reduced}"
        report = ingest(f"folder:{tmp_path / 'big'}", encoder, store=store, workers=0, options=IngestOptions(reduced_decoding=reduced))
        with open_store(store) as opened:
            stored[reduced] = opened.get_vectors(report.collection, report.vector_name, ["folder/cat/cat.jpg"])
    expected = encoder.encode_images([load_image(path, ReadOptions(draft_size=encoder.input_size))])
    np.testing.assert_allclose(stored[True], expected, atol=1e-5)
    np.testing.assert_allclose(stored[False], encoder.encode_images([load_image(path)]), atol=1e-5)
    np.testing.assert_allclose(encoder.encode_images([path]), stored[True], atol=1e-5)  # a file: read as ingest reads it
    assert not np.allclose(stored[True], stored[False], atol=1e-5)


def test_sigterm_is_handled_as_ctrl_c_with_a_summary_and_exit_143(folder, tmp_path):
    location = tmp_path / "store"
    script = textwrap.dedent(f"""
        import os, signal
        from embedkit.encoders.base import Encoder
        real, calls = Encoder.embed_pixels, []

        def embed(self, pixels):  # SIGTERM arrives while the second batch is being embedded
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
            return real(self, pixels)

        Encoder.embed_pixels = embed
        from embedkit.cli import main
        main(["ingest", "folder:{folder}", "-e", "mobilenet_v2.random", "--image-size", "32", "--batch-size", "2",
              "--workers", "0", "--device", "cpu", "--qdrant", "{location}"])
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 143, run.stderr
    assert "interrupted; run again to finish" in run.stdout and "stored 2," in run.stdout
    assert "Traceback" not in run.stderr
    rest = ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, device="cpu", store=location, workers=0)
    assert (rest.stored, rest.already_stored) == (GOOD - 2, 2)


def test_progress_knows_the_total_before_the_first_batch_and_names_the_index_build(folder, tmp_path, encoder):
    heard = []
    ingest(f"folder:{folder}", encoder, store=tmp_path / "store", batch_size=4, workers=0,
           progress=lambda state: heard.append((state.stage, state.encoded + state.failed, state.to_encode)))
    assert heard[0] == ("encoding", 0, GOOD + 1)  # before any image is decoded
    assert heard[-2] == ("encoding", GOOD + 1, GOOD + 1) and heard[-1][0] == "building the index"
