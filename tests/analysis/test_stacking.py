"""Stacking: train a meta-model on a labelled split of stored member vectors, save it, load it as an encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from embedkit import get_encoder
from embedkit.cli import main
from embedkit.encoders.ensemble.builders import create_stack
from embedkit.analysis.ensembles import apply_artifact
from embedkit.errors import ArtifactMismatchError, MemberVectorsMissingError, UnlabelledDataError
from embedkit.ingestion import ingest
from embedkit.encoders.ensemble import combine
from embedkit.analysis.stacking import load_stacker, train_stacker
from embedkit.store import open_store
from tests.support.manifests import CountingEncoder, make_manifest


def ingest_members(manifest, location, members, collection="shapes"):
    for encoder in members:
        ingest(f"manifest:{manifest}", encoder, store=location, collection=collection, workers=0)


@pytest.fixture
def labelled(tmp_path):
    manifest = make_manifest(tmp_path / "data", per_class=5)
    members = [CountingEncoder("colour"), CountingEncoder("thumb")]
    ingest_members(manifest, tmp_path / "store", members)
    return tmp_path / "store", manifest, members


@pytest.mark.parametrize("method", ["lda", "linear"])
def test_a_stacker_trains_on_the_labelled_split_and_is_saved_with_its_provenance(labelled, tmp_path, method):
    location, manifest, (colour, thumb) = labelled
    seen = colour.images_seen
    report = train_stacker(location, "shapes", "colour.v1+thumb.v1", tmp_path / "stack.npz", method=method,
                           dim=2 if method == "lda" else 8)
    assert colour.images_seen == seen  # trained from stored vectors
    assert (report.train_points, report.classes, report.dim) == (15, 3, 2 if method == "lda" else 8)
    provenance = json.loads((tmp_path / "stack.json").read_text())
    assert provenance["method"] == method and provenance["seed"] == 0 and provenance["embedkit_version"]
    assert [m["vector_name"] for m in provenance["members"]] == ["colour.v1", "thumb.v1"]
    training = provenance["training"]
    assert (training["split"], training["count"], training["collection"]) == ("train", 15, "shapes")
    assert training["datasets"] == [f"manifest:{manifest}"] and len(training["content_sha256"]) == 64

    # the stacked vectors were written for train and test alike; the loaded stacker reproduces them
    assert report.applied.vector_name == "stack:stack" and report.applied.written == 30
    stacker = load_stacker(tmp_path / "stack.npz")
    with open_store(location) as store:
        ids, arrays, _ = next(store.iter_points("shapes", ["colour.v1", "thumb.v1", "stack:stack"]))
    transformed = stacker.apply(combine([arrays["colour.v1"], arrays["thumb.v1"]], [1, 1]))
    np.testing.assert_allclose(transformed, arrays["stack:stack"], atol=1e-5)

    # as an encoder it runs the members on images and gives the same vectors
    encoder = create_stack(str(tmp_path / "stack.npz"), members=[colour, thumb], device="cpu")
    path = manifest.parent / ids[0].removeprefix("manifest/")
    np.testing.assert_allclose(encoder.encode_images([path])[0], arrays["stack:stack"][0], atol=1e-5)


def test_lda_stacking_separates_the_test_classes(labelled, tmp_path):
    location, _, _ = labelled
    train_stacker(location, "shapes", "colour.v1+thumb.v1", tmp_path / "lda.npz", dim=2)
    with open_store(location) as store:
        rows = [(p["split"], p["label"], v) for ids, arrays, payloads in store.iter_points("shapes", ["stack:lda"])
                for p, v in zip(payloads, arrays["stack:lda"])]
    test = [(label, vector) for split, label, vector in rows if split == "test"]
    vectors = np.array([v for _, v in test])
    labels = np.array([label for label, _ in test])
    scores = vectors @ vectors.T - 2 * np.eye(len(test))
    assert (labels[scores.argmax(1)] == labels).mean() > 0.8


def test_a_stack_by_name_rebuilds_registered_members_from_its_provenance(tmp_path, photos):
    manifest = make_manifest(tmp_path / "data", per_class=3)
    members = [get_encoder("mobilenet_v2.random", image_size=32, device="cpu"),
               get_encoder("clip:ViT-S-32-alt", weights="random", image_size=32, device="cpu")]
    ingest_members(manifest, tmp_path / "store", members)
    spec = "mobilenet_v2.random-32px+clip:ViT-S-32-alt.random-32px"
    train_stacker(tmp_path / "store", "shapes", spec, tmp_path / "named.npz", dim=2)
    encoder = get_encoder(f"stack:{tmp_path / 'named.npz'}", device="cpu")
    assert encoder.name == "stack:named" and encoder.dim == 2
    with open_store(tmp_path / "store") as store:
        ids, arrays, _ = next(store.iter_points("shapes", ["stack:named"], batch_size=2))
    path = manifest.parent / ids[0].removeprefix("manifest/")
    np.testing.assert_allclose(encoder.encode_images([path])[0], arrays["stack:named"][0], atol=1e-4)


def test_stacking_on_unlabelled_data_is_refused(tmp_path):
    manifest = make_manifest(tmp_path / "data", per_class=2, labelled=False)
    ingest_members(manifest, tmp_path / "store", [CountingEncoder("colour"), CountingEncoder("thumb")])
    with pytest.raises(UnlabelledDataError, match="6 point.*have no label"):
        train_stacker(tmp_path / "store", "shapes", "colour.v1+thumb.v1", tmp_path / "s.npz", split="train")
    with pytest.raises(UnlabelledDataError, match="no labelled point"):
        train_stacker(tmp_path / "store", "shapes", "colour.v1+thumb.v1", tmp_path / "s.npz", split="validation")


def test_an_artifact_built_for_other_members_is_refused(labelled, tmp_path):
    location, manifest, (colour, thumb) = labelled
    train_stacker(location, "shapes", "colour.v1+thumb.v1", tmp_path / "stack.npz", dim=2, apply=False)
    with pytest.raises(ArtifactMismatchError, match="built for members colour.v1 \\+ thumb.v1"):
        create_stack(str(tmp_path / "stack.npz"), members=[thumb, colour], device="cpu")
    # the same vector name, filled by another encoder (a 3x3 thumbnail): the dimension gives it away
    other = tmp_path / "other"
    ingest_members(manifest, other, [CountingEncoder("colour"), CountingEncoder("thumb", side=3)])
    with pytest.raises(ArtifactMismatchError, match="member thumb.v1 with dim 16.*now has dim 9"):
        apply_artifact(other, "shapes", tmp_path / "stack.npz")
    ingest_members(manifest, other, [CountingEncoder("colour")], collection="colour-only")
    with pytest.raises(MemberVectorsMissingError, match="needs member vectors 'thumb.v1'"):
        apply_artifact(other, "colour-only", tmp_path / "stack.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ArtifactMismatchError, match="not an embedkit ensemble artifact"):
        get_encoder(f"stack:{tmp_path / 'junk.npz'}")


def test_cli_builds_an_ensemble_and_trains_and_applies_a_stacker(labelled, tmp_path):
    location, _, _ = labelled
    runner = CliRunner()
    built = runner.invoke(main, ["ensemble", "build", "colour.v1+thumb.v1*0.5", "-c", "shapes",
                                 "--qdrant", str(location), "--json"])
    assert built.exit_code == 0, built.output
    assert json.loads(built.output)["vector_name"] == "ensemble:colour.v1+thumb.v1*0.5"
    trained = runner.invoke(main, ["stack", "train", "colour.v1+thumb.v1", "-c", "shapes", "-o",
                                   str(tmp_path / "cli.npz"), "--dim", "2", "--no-apply", "--qdrant", str(location)])
    assert trained.exit_code == 0 and "trained on 15 points of 3 classes" in trained.output
    applied = runner.invoke(main, ["stack", "apply", str(tmp_path / "cli.npz"), "-c", "shapes",
                                   "--qdrant", str(location)])
    assert applied.exit_code == 0 and "stack:cli: wrote 30 vectors of dim 2" in applied.output
    missing = runner.invoke(main, ["ensemble", "build", "colour.v1+vgg16", "-c", "shapes", "--qdrant", str(location)])
    assert missing.exit_code == 2 and "'vgg16' has no stored vectors" in missing.output
