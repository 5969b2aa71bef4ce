"""No stale or wrong vector is kept: edited files are embedded again, another folder is not taken for the
same dataset, deleted files can be pruned, and sources are stored so that they can be found again."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from embedkit.encoders import get_encoder
from embedkit.errors import InvalidOptionError
from embedkit.ingestion import IngestOptions, freshness, ingest
from embedkit.store import open_store
from tests.support.manifests import make_manifest
from tests.support.photos import PER_CLASS, make_photo_folder


@pytest.fixture(scope="module")
def encoder():
    return get_encoder("mobilenet_v2.random", image_size=64, device="cpu")


def stored_vector(store, report, sample_id: str) -> np.ndarray:
    with open_store(store) as opened:
        return opened.get_vectors(report.collection, report.vector_name, [sample_id])[0]


def test_a_file_edited_in_place_is_embedded_again_and_its_other_vectors_go(tmp_path, photos, encoder):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    other = get_encoder("vgg16.random", image_size=32, device="cpu")
    first = ingest(f"folder:{folder}", encoder, store=store, workers=0)
    ingest(f"folder:{folder}", other, store=store, workers=0)
    edited = folder / "cat" / "1.jpg"
    photos["rocket"].resize((200, 150)).save(edited, quality=90)
    os.utime(edited, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    again = ingest(f"folder:{folder}", encoder, store=store, workers=0)
    assert (again.stored, again.changed, again.already_stored) == (1, 1, 2 * PER_CLASS - 1)
    np.testing.assert_allclose(stored_vector(store, first, "folder/cat/1.jpg"), encoder.encode_images([edited])[0],
                               atol=1e-5)
    with open_store(store) as opened:  # the other encoder's vector of the old picture is gone, not kept stale
        assert opened.missing_ids(first.collection, other.vector_name, ["folder/cat/1.jpg"]) == ["folder/cat/1.jpg"]
    assert ingest(f"folder:{folder}", other, store=store, workers=0).stored == 1


def test_another_folder_with_the_same_name_is_not_taken_for_the_same_dataset(tmp_path, photos, encoder):
    first = make_photo_folder(tmp_path / "a" / "photos", photos, corrupt=False)
    second = make_photo_folder(tmp_path / "b" / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ingest(f"folder:{first}", encoder, store=store, workers=0)
    with pytest.raises(InvalidOptionError, match=rf"holds folder:{first}, not folder:{second}.*--add-dataset"):
        ingest(f"folder:{second}", encoder, store=store, workers=0)
    with open_store(store) as opened:
        assert opened.datasets("folder-photos") == [f"folder:{first}"]


def test_deleted_files_are_pruned_when_asked(tmp_path, photos, encoder):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ingest(f"folder:{folder}", encoder, store=store, workers=0)
    (folder / "coffee" / "3.jpg").unlink()
    kept = ingest(f"folder:{folder}", encoder, store=store, workers=0)
    assert kept.pruned == 0
    with open_store(store) as opened:
        assert opened.count("folder-photos") == 2 * PER_CLASS
    pruned = ingest(f"folder:{folder}", encoder, store=store, workers=0, options=IngestOptions(prune_missing=True))
    assert pruned.pruned == 1
    with open_store(store) as opened:
        assert opened.count("folder-photos") == 2 * PER_CLASS - 1
    with pytest.raises(InvalidOptionError, match="leave out --limit"):
        ingest(f"folder:{folder}", encoder, store=store, workers=0, options=IngestOptions(prune_missing=True), limit=3)


def test_sources_are_stored_absolute_from_a_relative_folder(tmp_path, photos, encoder, monkeypatch):
    make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    monkeypatch.chdir(tmp_path)
    report = ingest("folder:photos", encoder, store=tmp_path / "store", workers=0, limit=2)
    with open_store(tmp_path / "store") as opened:
        _, _, payloads = next(opened.iter_points(report.collection, [report.vector_name]))
    assert all(os.path.isabs(p["source"]) and Image.open(p["source"]).size for p in payloads)


def test_dataset_options_reach_the_dataset_from_ingest_and_bench(tmp_path, photos):
    from click.testing import CliRunner

    from embedkit.cli import main

    root = tmp_path / "nested"
    make_photo_folder(root / "animals", photos, corrupt=False)  # classes two levels down: animals/cat
    store = str(tmp_path / "store")
    common = ["-e", "mobilenet_v2.random", "--image-size", "32", "--qdrant", store, "--workers", "0"]
    ingested = CliRunner().invoke(main, ["ingest", f"folder:{root}", "-O", "depth=2", *common, "--json"])
    assert ingested.exit_code == 0, ingested.output
    with open_store(store) as opened:
        _, _, payloads = next(opened.iter_points("folder-nested", ["mobilenet_v2.random-32px"]))
    assert {p["label_name"] for p in payloads} == {"animals/cat", "animals/coffee"}
    benched = CliRunner().invoke(main, ["bench", "-d", f"folder:{root}", "-O", "depth=2", "--encoders",
                                        "mobilenet_v2.random", "--image-size", "32", "--qdrant", store, "--out-dir",
                                        str(tmp_path / "out"), "--workers", "0"])
    assert benched.exit_code == 0, benched.output
    bad = CliRunner().invoke(main, ["ingest", f"folder:{root}", "-O", "depth", *common])
    assert bad.exit_code == 2 and "is not KEY=VALUE" in bad.stderr


def test_a_file_that_cannot_be_read_for_a_while_keeps_its_vectors(tmp_path, photos, encoder):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ingest(f"folder:{folder}", encoder, store=store, workers=0)
    (folder / "cat" / "1.jpg").rename(tmp_path / "away.jpg")  # an unmounted drive, a file being copied
    (tmp_path / "away.jpg").write_bytes(b"")  # and not a file of the folder any more
    again = ingest(f"folder:{folder}", encoder, store=store, workers=0)
    assert (again.changed, again.stored) == (0, 0)
    with open_store(store) as opened:
        assert opened.count("folder-photos") == 2 * PER_CLASS


def test_an_edit_seen_first_by_another_encoder_still_refreshes_the_first(tmp_path, photos, encoder):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    other = get_encoder("vgg16.random", image_size=32, device="cpu")
    first = ingest(f"folder:{folder}", encoder, store=store, workers=0)
    edited = folder / "coffee" / "2.jpg"
    photos["rocket"].resize((200, 150)).save(edited, quality=90)
    os.utime(edited, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    assert ingest(f"folder:{folder}", other, store=store, workers=0).changed == 1
    again = ingest(f"folder:{folder}", encoder, store=store, workers=0)
    assert again.stored == 1
    np.testing.assert_allclose(stored_vector(store, first, "folder/coffee/2.jpg"), encoder.encode_images([edited])[0],
                               atol=1e-5)


def test_prune_touches_only_its_own_folder(tmp_path, photos, encoder):
    first = make_photo_folder(tmp_path / "x" / "photos", photos, corrupt=False)
    second = tmp_path / "y" / "photos" / "rocket"
    second.mkdir(parents=True)
    photos["rocket"].resize((120, 90)).save(second / "only.jpg")
    store = tmp_path / "store"
    ingest(f"folder:{first}", encoder, store=store, workers=0)
    report = ingest(f"folder:{second.parent}", encoder, store=store, workers=0,
                    options=IngestOptions(add_dataset=True, prune_missing=True))
    assert report.pruned == 0
    with open_store(store) as opened:
        assert opened.count("folder-photos") == 2 * PER_CLASS + 1


def test_an_edited_caption_is_embedded_again(tmp_path):
    from tests.support.manifests import make_manifest

    manifest = make_manifest(tmp_path / "data", per_class=1)
    store = tmp_path / "store"
    minilm = get_encoder("st:all-MiniLM-L6-v2", device="cpu")
    ingest(f"manifest:{manifest}", minilm, store=store, text_field="caption")
    edits = manifest.read_text().count("a red square")
    manifest.write_text(manifest.read_text().replace("a red square", "a crimson circle"))
    again = ingest(f"manifest:{manifest}", minilm, store=store, text_field="caption")
    assert edits >= 1 and (again.stored, again.changed) == (edits, edits)


def test_a_touched_file_is_not_embedded_again_and_its_stamp_is_refreshed(tmp_path, photos, encoder, monkeypatch):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ingest(f"folder:{folder}", encoder, store=store, workers=0)
    touched = folder / "cat" / "2.jpg"
    os.utime(touched, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))  # same bytes, another time
    again = ingest(f"folder:{folder}", encoder, store=store, workers=0)
    assert (again.stored, again.changed, again.already_stored) == (0, 0, 2 * PER_CLASS)
    with open_store(store) as opened:
        stamp = opened.payload_values("folder-photos", ["folder/cat/2.jpg"], "content")["folder/cat/2.jpg"]
    assert stamp.startswith(f"{touched.stat().st_size}-1600000000000000000-")
    hashed = []
    real_hash = freshness.content_stamp
    monkeypatch.setattr(freshness, "content_stamp", lambda source: hashed.append(source) or real_hash(source))
    ingest(f"folder:{folder}", encoder, store=store, workers=0)
    assert hashed == []  # a re-run of an untouched folder reads no file to hash it


def test_a_stamp_without_a_hash_from_an_older_version_still_detects_an_edit(tmp_path, photos, encoder):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ingest(f"folder:{folder}", encoder, store=store, workers=0)
    edited, kept = folder / "coffee" / "1.jpg", folder / "coffee" / "2.jpg"
    with open_store(store) as opened:  # as embedkit 0.2.0 stamped them: size and mtime only
        opened.set_payloads("folder-photos", {
            f"folder/coffee/{path.name}": {"content": f"{path.stat().st_size}-{path.stat().st_mtime_ns}"}
            for path in (edited, kept)})
    photos["rocket"].resize((120, 90)).save(edited, quality=90)
    again = ingest(f"folder:{folder}", encoder, store=store, workers=0)
    assert (again.stored, again.changed) == (1, 1)


def test_a_collection_without_a_dataset_record_is_judged_by_its_points(tmp_path, photos, encoder):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ingest(f"folder:{folder}", encoder, store=store, workers=0, collection="mixed")
    with open_store(store) as opened:  # as a collection made by embedkit 0.2.0 or older
        metadata = opened._read_metadata("mixed")
        metadata.pop("datasets")
        opened._write_metadata("mixed", metadata)
    manifest = make_manifest(tmp_path / "manifest")
    with pytest.raises(InvalidOptionError, match="holds points of another dataset, not manifest:"):
        ingest(f"manifest:{manifest}", encoder, store=store, workers=0, collection="mixed")
    assert ingest(f"folder:{folder}", encoder, store=store, workers=0, collection="mixed").already_stored == 12
    with open_store(store) as opened:
        assert opened.datasets("mixed") == [f"folder:{folder}"]


def test_nothing_stored_records_no_dataset(tmp_path, encoder):
    folder = tmp_path / "broken" / "cat"
    folder.mkdir(parents=True)
    (folder / "0.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    store = tmp_path / "store"
    report = ingest(f"folder:{folder.parent}", encoder, store=store, workers=0, collection="c")
    assert report.stored == 0 and len(report.failures) == 1
    with open_store(store) as opened:
        assert opened.datasets("c") == []
