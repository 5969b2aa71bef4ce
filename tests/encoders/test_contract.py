"""Every registered encoder keeps the same promises: shape, dtype, unit norm, determinism, batching.

The checks are embedkit.testing's, the kit plugin authors run on their own encoders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embedkit import Encoder, get_encoder, list_encoders
from embedkit.encoders import ENCODERS, entry_record
from embedkit.testing import (
    check_batch_size,
    check_deterministic,
    check_empty_input,
    check_modality,
    check_preprocess,
    check_preprocessing_matches_record,
    check_rebuild,
    check_record,
    check_registration,
    check_texts,
    check_vectors,
)


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


def held(outcome: str | None) -> None:
    """A check of the kit holds, or does not apply to this encoder (a skip)."""
    if outcome is not None:
        pytest.skip(outcome)


def test_vectors_are_unit_float32_rows_of_the_declared_dimension(encoder, images):
    held(check_vectors(encoder, images, batch_size=8))


def test_the_same_images_give_the_same_vectors(encoder, images):
    held(check_deterministic(encoder, images[:2]))


def test_the_batch_size_does_not_change_the_vectors(encoder, images):
    held(check_batch_size(encoder, images))


@pytest.mark.parametrize("name", REGISTERED)
def test_registered_metadata_matches_the_built_encoder(name):
    encoder = build(name)
    held(check_registration(name, encoder))
    held(check_record(encoder))  # as the store keeps it


def test_the_record_creates_the_same_encoder_again(encoder, photos):
    if isinstance(encoder, MeanColour):
        pytest.skip("an encoder no registry knows cannot be created by name")
    held(check_rebuild(encoder, photos["coffee"]))


def test_image_preprocessing_is_the_transform_the_record_describes(encoder, photos):
    held(check_preprocessing_matches_record(encoder, photos["cat"]))


def test_an_empty_input_gives_an_empty_array(encoder):
    held(check_empty_input(encoder))


def test_images_are_preprocessed_to_a_picklable_chw_tensor(encoder, photos):
    held(check_preprocess(encoder, photos["cat"]))


def test_a_modality_it_lacks_is_refused_and_its_own_is_the_default(encoder, photos):
    held(check_modality(encoder, photos["cat"]))


@pytest.mark.parametrize("name", TEXT)
def test_text_vectors_are_unit_float32_rows_whatever_the_batch_size(name):
    encoder = build(name)
    held(check_texts(encoder, ["a photo of a cat", "a cup of coffee", "an astronaut", "", "a rocket on its launch pad"]))
    held(check_empty_input(encoder))
