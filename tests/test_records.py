"""The record of what made a vector: what it compares, what it lets differ, how it reads older records."""

from __future__ import annotations

import json

from embedkit.records import ArtifactRecord, MemberRecord, Preprocessing, VectorRecord

CROP = Preprocessing(256, 224, "bilinear", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CNN = VectorRecord("resnet50.imagenet1k_v2", 2048, "image", architecture="resnet50", weights="imagenet1k_v2",
                   weights_sha256="aa" * 32, layer="pool", preprocessing=CROP, source="torchvision 0.29")


def ensemble(member: VectorRecord, **changes) -> VectorRecord:
    record = VectorRecord("ensemble:resnet50.imagenet1k_v2+x.v1", 2048 + 4, "image", weights="members",
                          weights_sha256="bb" * 32,
                          members=(MemberRecord(member.encoder, 1.0, member), MemberRecord("x.v1", 0.5, VectorRecord("x.v1", 4))),
                          artifact=ArtifactRecord("pca", 16, "cc" * 32, "/models/pca.npz"))
    return record.replace(**changes)


def test_a_record_survives_the_json_the_store_keeps():
    record = ensemble(CNN)
    assert VectorRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_fields_that_change_the_vectors_differ_and_the_others_do_not():
    assert CNN.differences(CNN.replace(precision="bf16", source="torchvision 9", licence="MIT", details={"a": 1})) == []
    assert CNN.differences(CNN.replace(preprocessing=CROP.__class__(256, 224, "bicubic", CROP.mean, CROP.std))) \
        == ["preprocessing"]
    assert CNN.differences(CNN.replace(layer="fc2", text_field="caption")) == ["layer", "text_field"]


def test_a_trained_artifact_is_the_same_wherever_its_file_lies():
    moved = ensemble(CNN, artifact=ArtifactRecord("pca", 16, "cc" * 32, "/elsewhere/pca.npz"))
    assert ensemble(CNN).differences(moved) == []
    other = ensemble(CNN, artifact=ArtifactRecord("pca", 16, "dd" * 32, "/models/pca.npz"))
    assert ensemble(CNN).differences(other) == ["artifact"]


def test_an_ensemble_is_compared_member_by_member_not_by_its_derived_hash():
    assert ensemble(CNN).differences(ensemble(CNN, weights_sha256="ee" * 32)) == []
    retrained = ensemble(CNN.replace(preprocessing=CROP.__class__(232, 224, "bilinear", CROP.mean, CROP.std)))
    assert ensemble(CNN).differences(retrained) == ["members"]


def test_a_record_written_by_embedkit_0_1_is_read_with_what_it_has():
    legacy = {"encoder": "ensemble:a+b", "dim": 12, "distance": "Cosine", "weights": "members",
              "preprocessing": "Compose(Resize(size=32) at 0x7f00)", "precision": "fp32",
              "encoder_info": {"name": "ensemble:a+b", "dim": 12, "projection": {"method": "pca", "dim": 12,
                                                                                 "file": "p.npz", "sha256": "cc"},
                               "members": [{"vector_name": "a", "encoder": "a", "dim": 8, "weight": 1.0,
                                            "weights": "w", "weights_sha256": None, "image_size": 32, "layer": None}]}}
    record = VectorRecord.from_json(legacy)
    assert record.preprocessing is None and record.details["legacy_preprocessing"].startswith("Compose(")
    assert record.artifact == ArtifactRecord("pca", 12, "cc", "p.npz")
    assert record.members[0].record.image_size == 32 and record.members[0].weight == 1.0
