"""Every registered encoder keeps the same promises: shape, dtype, unit norm, determinism, batching."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from embedkit import Encoder, get_encoder, list_encoders
from embedkit.encoders import ENCODERS, entry_record
from embedkit.encoders.rebuild import encoder_from_record
from embedkit.records import VectorRecord


class MeanColour(Encoder):
    """The custom encoder of docs/plugins.md: mean and spread of each colour channel."""

    name = "mean_colour.v1"
    dim = 6

    def preprocess(self, image):
        return torch.from_numpy(np.asarray(image.resize((64, 64)), dtype=np.float32) / 255).permute(2, 0, 1)

    def forward_images(self, pixels):
        return torch.cat([pixels.mean((2, 3)), pixels.std((2, 3))], dim=1)


def build(name: str) -> Encoder:
    entry, _ = ENCODERS.resolve(name)
    local = entry.info.get("weights_available", lambda: False)()
    # pretrained where the weights are here; elsewhere the same architecture with random weights
    return get_encoder(name, weights=None if local else "random", device="cpu")


def concrete_names(modalities: tuple[str, ...]) -> list[str]:
    """Every registered encoder of these modalities; a family (`clip:`) by the examples it lists."""
    return [name for entry in list_encoders() if entry_record(entry).modality in modalities
            for name in (entry.info.get("examples", ()) if entry.is_family else (entry.name,))]


REGISTERED = concrete_names(("image", "image+text"))
TEXT = concrete_names(("text", "image+text"))


@pytest.fixture(scope="module", params=REGISTERED + ["custom"])
def encoder(request) -> Encoder:
    if request.param == "custom":
        return MeanColour(device="cpu")
    return build(request.param)


@pytest.fixture(scope="module")
def images(photos):
    return [photos[name] for name in ("cat", "coffee", "astronaut", "rocket", "cat_crop_mirror")]


def test_vectors_are_unit_float32_rows_of_the_declared_dimension(encoder, images):
    vectors = encoder.encode_images(images, batch_size=8)
    assert vectors.shape == (len(images), encoder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(vectors).all()


def test_the_same_images_give_the_same_vectors(encoder, images):
    np.testing.assert_array_equal(encoder.encode_images(images[:2]), encoder.encode_images(images[:2]))


def test_the_batch_size_does_not_change_the_vectors(encoder, images):
    one_by_one = encoder.encode_images(images, batch_size=1)
    all_at_once = encoder.encode_images(images, batch_size=len(images))
    np.testing.assert_allclose(one_by_one, all_at_once, atol=2e-4)


@pytest.mark.parametrize("name", REGISTERED)
def test_registered_metadata_matches_the_built_encoder(name):
    entry, _ = ENCODERS.resolve(name)
    encoder = build(name)
    registered = entry_record(entry)
    assert registered.modality == encoder.modality
    if entry.is_family:
        assert registered.dim == 0  # a family's members differ in dim
    elif encoder.record.weights == registered.weights:  # built with the registered weights: the whole record
        assert registered.differences(encoder.record) == []
    else:
        assert (registered.dim, registered.layer) == (encoder.dim, encoder.record.layer)
    record = encoder.record
    assert (record.encoder, record.dim, record.modality) == (encoder.name, encoder.dim, encoder.modality)
    assert VectorRecord.from_json(json.loads(json.dumps(record.to_json()))) == record  # as the store keeps it
    if entry.is_family:
        assert encoder.name.startswith(entry.name)
    else:
        assert encoder.name.split(".")[0] == name.split(".")[0]


def test_the_record_creates_the_same_encoder_again(encoder, photos):
    if isinstance(encoder, MeanColour):
        pytest.skip("an encoder no registry knows cannot be created by name")
    rebuilt = encoder_from_record(encoder.record, device="cpu")
    assert rebuilt.vector_name == encoder.vector_name and rebuilt.record.differences(encoder.record) == []
    np.testing.assert_allclose(rebuilt.encode_images([photos["coffee"]]), encoder.encode_images([photos["coffee"]]),
                               atol=1e-5)


def test_image_preprocessing_is_the_transform_the_record_describes(encoder, photos):
    if encoder.record.preprocessing is None or not hasattr(encoder, "module"):
        pytest.skip("no single preprocessing: an ensemble packs its members', a custom encoder keeps its own")
    torch.testing.assert_close(encoder.preprocess(photos["cat"]),
                               encoder.record.preprocessing.transform()(photos["cat"]))


def test_an_empty_input_gives_an_empty_array(encoder):
    assert encoder.encode_images([]).shape == (0, encoder.dim)


def test_images_are_preprocessed_to_a_picklable_chw_tensor(encoder, photos):
    import pickle

    tensor = encoder.preprocess(photos["cat"])
    assert tensor.dim() == 3 and tensor.shape[0] == 3
    pickle.dumps(encoder.preprocess)  # DataLoader workers need it


@pytest.mark.parametrize("name", TEXT)
def test_text_vectors_are_unit_float32_rows_whatever_the_batch_size(name):
    encoder = build(name)
    texts = ["a photo of a cat", "a cup of coffee", "an astronaut", "", "a rocket on its launch pad"]
    vectors = encoder.encode_texts(texts, batch_size=2)
    assert vectors.shape == (len(texts), encoder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(encoder.encode_texts(texts, batch_size=len(texts)), vectors, atol=2e-4)
    assert encoder.encode_texts([]).shape == (0, encoder.dim)
