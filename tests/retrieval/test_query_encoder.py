"""A query by image or text is embedded by the encoder the collection records, not one the user must name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.encoders import get_encoder
from embedkit.errors import InvalidOptionError, SchemaMismatchError, WeightsUnavailableError
from embedkit.ingestion import ingest
from embedkit.retrieval import search
from embedkit.store import open_store
from tests.support.photos import PER_CLASS, make_photo_folder

CNN = "mobilenet_v2.random"
CLIP = "clip:ViT-S-32-alt.random"


@pytest.fixture(scope="module")
def two_vectors(tmp_path_factory, photos):
    """A photo folder with a random CNN's and a random CLIP's vectors, 64 px."""
    root = tmp_path_factory.mktemp("query-encoder")
    folder = make_photo_folder(root / "photos", photos, corrupt=False)
    for name in (CNN, CLIP):
        ingest(f"folder:{folder}", name, image_size=64, store=root / "store", workers=0, device="cpu")
    return root / "store", folder


def test_an_image_query_rebuilds_the_recorded_encoder_with_its_options(two_vectors, photo_files):
    store, _ = two_vectors
    by_record = search("folder-photos", encoder=CNN, image=photo_files["cat"], k=3, store=store)
    named = get_encoder(CNN, image_size=64, device="cpu")  # what the user would otherwise have to repeat
    by_encoder = search("folder-photos", encoder=named, image=photo_files["cat"], k=3, store=store)
    assert by_record.vector_name == "mobilenet_v2.random-64px"
    assert [h.sample_id for h in by_record.hits] == [h.sample_id for h in by_encoder.hits]
    np.testing.assert_allclose([h.score for h in by_record.hits], [h.score for h in by_encoder.hits], atol=1e-5)


def test_a_text_query_finds_the_only_vector_that_embeds_text_without_an_encoder(two_vectors):
    store, _ = two_vectors
    result = search("folder-photos", text="a photo of a cat", k=2, store=store)
    assert result.vector_name == "clip:ViT-S-32-alt.random-64px" and len(result.hits) == 2


def test_an_image_query_among_several_vectors_uses_the_default_or_the_first_made(two_vectors, photo_files):
    store, _ = two_vectors
    assert search("folder-photos", image=photo_files["cat"], k=1, store=store).vector_name == "mobilenet_v2.random-64px"
    with open_store(store) as opened:  # a collection from embedkit 0.1.0 has no default vector
        metadata = opened._read_metadata("folder-photos")
        vectors = dict(reversed(list(metadata["vectors"].items())))  # the order of the JSON does not decide
        for name, record in vectors.items():  # made within one second here: say which came first
            vectors[name] = {**record, "created_at": "2026-11-0{}T00:00:00+00:00".format(1 if "mobilenet" in name
                                                                                          else 2)}
        opened._write_metadata("folder-photos", {**{k: v for k, v in metadata.items() if k != "default_vector"},
                                                 "vectors": vectors})
    try:
        assert search("folder-photos", image=photo_files["cat"], k=1, store=store).vector_name == \
            "mobilenet_v2.random-64px"
    finally:
        with open_store(store) as opened:
            opened._write_metadata("folder-photos", metadata)


def test_an_encoder_object_that_differs_from_the_record_is_refused(two_vectors, photo_files):
    store, _ = two_vectors
    other = get_encoder(CNN, image_size=64, device="cpu")
    other.base_record = other.base_record.replace(preprocessing=other.base_record.preprocessing.__class__(
        72, 64, "bilinear", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)))
    with pytest.raises(SchemaMismatchError, match="differs in preprocessing"):
        search("folder-photos", encoder=other, image=photo_files["cat"], store=store)


def test_the_cli_searches_by_image_with_no_encoder_options(tmp_path, photos, photo_files):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = str(tmp_path / "store")
    ingest(f"folder:{folder}", CNN, image_size=64, store=store, workers=0, device="cpu")
    result = CliRunner().invoke(main, ["search", "-c", "folder-photos", "--image", str(photo_files["coffee"]),
                                       "-k", str(PER_CLASS), "--qdrant", store, "--json"])
    assert result.exit_code == 0, result.output
    assert '"vector": "mobilenet_v2.random-64px"' in result.output


def test_a_checkpoint_that_is_gone_asks_for_it_and_is_used_when_given(tmp_path, photos, photo_files):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    checkpoint = tmp_path / "tuned.pt"
    torch.save(get_encoder(CNN, device="cpu").module.state_dict(), checkpoint)
    tuned = get_encoder("mobilenet_v2", weights=str(checkpoint), image_size=64, device="cpu")
    ingest(f"folder:{folder}", tuned, store=tmp_path / "store", workers=0)
    found = search("folder-photos", image=photo_files["cat"], k=2, store=tmp_path / "store")
    assert found.vector_name == tuned.vector_name
    moved = checkpoint.rename(tmp_path / "moved.pt")
    with pytest.raises(WeightsUnavailableError, match="pass --weights PATH"):
        search("folder-photos", image=photo_files["cat"], store=tmp_path / "store")
    again = search("folder-photos", image=photo_files["cat"], k=2, store=tmp_path / "store", weights=str(moved))
    assert [h.sample_id for h in again.hits] == [h.sample_id for h in found.hits]
    with open_store(tmp_path / "store") as opened:
        assert opened.vector_record("folder-photos", tuned.vector_name).weights_file == str(checkpoint)


def test_a_query_that_names_no_vector_uses_the_default_one_which_can_be_changed(two_vectors, photo_files):
    store, _ = two_vectors
    assert search("folder-photos", sample_id="folder/cat/1.jpg", k=2, store=store).vector_name == \
        "mobilenet_v2.random-64px"  # the first ingested
    changed = CliRunner().invoke(main, ["collections", "--qdrant", str(store), "default", "folder-photos", CLIP])
    assert changed.exit_code == 0, changed.output
    try:
        assert search("folder-photos", sample_id="folder/cat/1.jpg", k=2, store=store).vector_name == \
            "clip:ViT-S-32-alt.random-64px"
        bad = CliRunner().invoke(main, ["collections", "--qdrant", str(store), "default", "folder-photos", "vgg16"])
        assert bad.exit_code == 2 and "has no vector" in bad.stderr
    finally:
        with open_store(store) as opened:
            opened.set_default_vector("folder-photos", "mobilenet_v2.random-64px")


def test_a_collection_without_the_named_encoders_vector_is_refused_before_any_model_loads(tmp_path, photos,
                                                                                          monkeypatch):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ingest(f"folder:{folder}", CNN, image_size=64, store=store, workers=0, device="cpu")
    built = []
    import embedkit.encoders
    import embedkit.encoders.rebuild

    monkeypatch.setattr(embedkit.encoders.rebuild, "encoder_from_record",
                        lambda *a, **k: built.append(a) or pytest.fail("built"))
    monkeypatch.setattr(embedkit.encoders, "get_encoder", lambda *a, **k: built.append(a) or pytest.fail("built"))
    with pytest.raises(InvalidOptionError, match="clip:ViT-B-32"):
        search("folder-photos", encoder="clip:ViT-B-32", text="a cat", store=store)
    assert built == []
