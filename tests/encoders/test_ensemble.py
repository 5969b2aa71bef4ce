"""Ensembles: the spec syntax, the encoder, and the default path that reuses stored member vectors."""

from __future__ import annotations

import numpy as np
import pytest

from embedkit import get_encoder, list_encoders
from embedkit.encoders.ensemble import EnsembleArtifact, Member, combine, normalise_rows, parse_members
from embedkit.encoders.ensemble.encoder import EnsembleEncoder
from embedkit.analysis.ensembles import build_from_store
from embedkit.errors import InvalidOptionError, MemberVectorsMissingError, TextNotSupportedError
from embedkit.ingestion import ingest
from embedkit.store import open_store
from tests.support.manifests import CountingEncoder, make_manifest


@pytest.fixture
def stored(tmp_path):
    """A labelled manifest ingested with two counting encoders."""
    manifest = make_manifest(tmp_path / "data", per_class=4)
    colour, thumb = CountingEncoder("colour"), CountingEncoder("thumb")
    store = open_store(tmp_path / "store")
    for encoder in (colour, thumb):
        ingest(f"manifest:{manifest}", encoder, store=store, collection="shapes", workers=0)
    yield store, manifest, colour, thumb
    store.close()


def test_a_spec_names_members_and_optional_weights():
    assert parse_members("resnet50+densenet121*0.5+vgg16") == [
        Member("resnet50"), Member("densenet121", 0.5), Member("vgg16")]
    assert parse_members("clip:ViT-B-32/openai*2+mobilenet_v2") == [Member("clip:ViT-B-32/openai", 2.0),
                                                                     Member("mobilenet_v2")]


@pytest.mark.parametrize("spec, message", [
    ("resnet50", "at least two"), ("resnet50+resnet50", "must differ"), ("a*x+b", "not a number"),
    ("a*-1+b", "positive weight"), ("", "needs members"),
])
def test_a_bad_spec_says_what_is_wrong(spec, message):
    with pytest.raises(InvalidOptionError, match=message):
        parse_members(spec)


def test_the_ensemble_concatenates_weighted_normalised_members_and_normalises(photos):
    colour, thumb = CountingEncoder("colour"), CountingEncoder("thumb")
    ensemble = EnsembleEncoder([colour, thumb], [1.0, 0.5], device="cpu")
    images = [photos["cat"], photos["coffee"]]
    expected = normalise_rows(combine([colour.encode_images(images), thumb.encode_images(images)], [1.0, 0.5]))
    np.testing.assert_allclose(ensemble.encode_images(images), expected, atol=1e-6)
    assert ensemble.name == "ensemble:colour.v1+thumb.v1*0.5" and ensemble.dim == 6 + 16
    assert ensemble.modality == "image"
    with pytest.raises(TextNotSupportedError, match="images only"):
        ensemble.encode_texts(["a cat"])


def test_an_ensemble_by_name_builds_registered_members_with_the_options_given(photos):
    ensemble = get_encoder("ensemble:mobilenet_v2+clip:ViT-S-32-alt*0.5", weights="random", image_size=32,
                           device="cpu")
    assert ensemble.name == "ensemble:mobilenet_v2.random-32px+clip:ViT-S-32-alt.random-32px*0.5"
    assert ensemble.dim == 1280 + 256
    vectors = ensemble.encode_images([photos["cat"], photos["rocket"]])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert [e.name for e in list_encoders("ensemble*")] == ["ensemble:"]
    with pytest.raises(InvalidOptionError, match="passes --weights to every member"):
        get_encoder("ensemble:mobilenet_v2+vgg16", weights="some.pt")


def test_building_from_the_store_encodes_no_image_and_matches_the_encoder(stored, photos):
    store, _, colour, thumb = stored
    seen = colour.images_seen, thumb.images_seen
    report = build_from_store(store, "shapes", [colour, thumb])
    assert (colour.images_seen, thumb.images_seen) == seen  # nothing was encoded again
    assert report.vector_name == "ensemble:colour.v1+thumb.v1" and report.written == 24 and report.skipped == 0
    assert report.encoded_members == []

    ids, arrays, _ = next(store.iter_points("shapes", ["colour.v1", "thumb.v1", report.vector_name]))
    expected = normalise_rows(combine([arrays["colour.v1"], arrays["thumb.v1"]], [1, 1]))
    np.testing.assert_allclose(arrays[report.vector_name], expected, atol=1e-6)

    # the encoder computes the same vectors, and its identity matches what the store recorded
    ensemble = EnsembleEncoder([colour, thumb], device="cpu")
    ingest(f"manifest:{stored[1]}", ensemble, store=store, collection="shapes", workers=0)  # no schema conflict
    assert store.vector_record("shapes", report.vector_name).weights_sha256 == ensemble.record.weights_sha256


def test_members_are_found_by_stored_name_and_weights_apply(stored):
    store, *_ = stored
    report = build_from_store(store, "shapes", "colour.v1*2+thumb.v1")
    assert report.vector_name == "ensemble:colour.v1*2+thumb.v1" and report.weights == [2.0, 1.0]


def test_a_member_without_stored_vectors_is_a_clear_error(stored):
    store, *_ = stored
    with pytest.raises(MemberVectorsMissingError, match="'mobilenet_v2' has no stored vectors in collection 'shapes'"
                       r".*colour.v1, thumb.v1.*embedkit ingest"):
        build_from_store(store, "shapes", "colour.v1+mobilenet_v2")


def test_a_missing_member_that_cannot_be_encoded_says_why(stored, monkeypatch, tmp_path):
    store, manifest, *_ = stored
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-weights"))  # resnet50's ImageNet weights are not here
    with pytest.raises(MemberVectorsMissingError, match="'resnet50' has no stored vectors.*cannot be encoded.*"
                                                        "NAME.random"):
        build_from_store(store, "shapes", "colour.v1+resnet50", dataset=f"manifest:{manifest}")


def test_a_missing_member_is_encoded_from_the_dataset_when_given(stored):
    store, manifest, colour, _ = stored
    report = build_from_store(store, "shapes", "colour.v1+mobilenet_v2", dataset=f"manifest:{manifest}",
                              weights="random", image_size=32, device="cpu")
    assert report.encoded_members == ["mobilenet_v2.random-32px"] and report.written == 24


def test_a_pca_ensemble_saves_its_pca_and_the_encoder_reproduces_it(stored, tmp_path):
    store, manifest, colour, thumb = stored
    report = build_from_store(store, "shapes", [colour, thumb], pca_dim=4, pca_file=tmp_path / "pca.npz")
    assert report.vector_name == "ensemble:colour.v1+thumb.v1-pca4" and report.dim == 4
    assert (tmp_path / "pca.json").is_file()
    ensemble = EnsembleEncoder([colour, thumb], device="cpu", artifact=EnsembleArtifact.load(report.artifact))
    assert ensemble.name == report.vector_name
    sample_id = next(store.iter_points("shapes", [report.vector_name], batch_size=1))[0][0]
    stored_vector = store.get_vectors("shapes", report.vector_name, [sample_id])[0]
    path = manifest.parent / sample_id.removeprefix("manifest/")
    np.testing.assert_allclose(ensemble.encode_images([path])[0], stored_vector, atol=1e-5)
    with pytest.raises(InvalidOptionError, match="pca_file"):
        build_from_store(store, "shapes", [colour, thumb], pca_dim=4)
