"""A store stops writing while its disk still has a margin free (Qdrant Edge's memory maps turn a full disk into
a bus error), says what it committed, and a store on a full disk still opens for reading."""

from __future__ import annotations

import shutil
from collections import namedtuple

import pytest

from embedkit.errors import StoreFullError, StoreReadOnlyError
from embedkit.ingestion import ingest
from embedkit.retrieval import search
from embedkit.store import open_store
from embedkit.store.edge import space
from tests.support.photos import PER_CLASS, make_photo_folder

Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def disk(monkeypatch):
    """The free bytes the store sees, settable: `disk.free = ...`, or a countdown of writes left with room."""
    class Disk:
        free = 10 << 30
        writes_with_room: int | None = None

        def usage(self, path):
            if self.writes_with_room is not None:
                self.writes_with_room -= 1
                if self.writes_with_room < 0:
                    self.free = 1 << 20
            return Usage(100 << 30, 0, self.free)

    fake = Disk()
    monkeypatch.setattr(space.shutil, "disk_usage", fake.usage)
    return fake


def test_a_disk_filling_up_stops_the_run_with_the_committed_count_and_a_rerun_completes(tmp_path, photos, disk):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    disk.writes_with_room = 6  # the collection, its metadata and the first batches; then the disk is full
    with pytest.raises(StoreFullError, match=r"MB free, less than the 64 MB .*; (\d+) points with this vector are "
                                              r"committed") as stopped:
        ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, device="cpu", store=store, workers=0,
               batch_size=2)
    assert "\n" not in str(stopped.value)
    disk.writes_with_room, disk.free = None, 10 << 30
    rest = ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, device="cpu", store=store, workers=0)
    assert rest.stored + rest.already_stored == 2 * PER_CLASS and rest.already_stored > 0
    with open_store(store) as opened:
        assert opened.count("folder-photos") == 2 * PER_CLASS


def test_a_full_disk_is_told_by_its_type_in_the_one_line_it_was_told_in_as_an_os_error(tmp_path, disk):
    from embedkit.cli.group import describe
    from embedkit.records import VectorRecord

    with open_store(tmp_path / "store") as store:
        store.ensure_vector("a", "enc", VectorRecord("enc", 4, "image", weights="w"))
        disk.free = 1 << 20
        with pytest.raises(StoreFullError) as full:
            store.ensure_vector("b", "enc", VectorRecord("enc", 4, "image", weights="w"))
        disk.free = 10 << 30
    message = (f"the disk holding {(tmp_path / 'store').resolve()} has 1 MB free, less than the 64 MB embedkit leaves "
               f"free ($EMBEDKIT_MIN_FREE_MB); free some space, or store elsewhere (--qdrant)")
    assert describe(full.value) == (message, 1)


def test_a_store_on_a_full_disk_opens_for_reading_and_refuses_writes_in_one_line(tmp_path, photos, disk):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ingest(f"folder:{folder}", "mobilenet_v2.random", image_size=32, device="cpu", store=store, workers=0)
    before = {path: path.stat().st_mtime_ns for path in store.rglob("*") if path.is_file()}
    disk.free = 1 << 20
    hits = search("folder-photos", sample_id="folder/cat/1.jpg", k=3, store=store).hits
    assert len(hits) == 3
    with pytest.raises(StoreReadOnlyError, match=r"has 1 MB free.*free some space there \(reading works meanwhile\)"):
        ingest(f"folder:{folder}", "vgg16.random", image_size=32, device="cpu", store=store, workers=0)
    after = {path: path.stat().st_mtime_ns for path in store.rglob("*") if path.is_file()}
    assert after == before  # nothing was written into the full disk's store


def test_the_margin_is_a_setting(monkeypatch, tmp_path):
    monkeypatch.setenv(space.MIN_FREE_ENV, "0")
    assert space.shortage(tmp_path) is None
    monkeypatch.setenv(space.MIN_FREE_ENV, str((shutil.disk_usage(tmp_path).free >> 20) + 1024))
    assert "embedkit leaves free" in space.shortage(tmp_path)
