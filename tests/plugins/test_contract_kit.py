"""embedkit.testing catches the encoder that breaks a promise, names the promise, and passes the one that keeps
them all."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from embedkit import Encoder
from embedkit.encoders.image_module import ImageModuleEncoder
from embedkit.errors import TextNotSupportedError
from embedkit.hookspecs import hookimpl
from embedkit.plugins import load_registry, plugin_manager
from embedkit.records import Preprocessing, VectorRecord
from embedkit.registry import Registry
from embedkit.testing import ContractError, EncoderContract, check_encoder, sample_images


def pixels(image, side=32):
    return torch.from_numpy(np.asarray(image.resize((side, side)), dtype=np.float32) / 255).permute(2, 0, 1)


class MeanColour(Encoder):
    name = "mean_colour.v1"
    dim = 6

    def preprocess(self, image):
        return pixels(image)

    def forward_images(self, batch):
        return torch.cat([batch.mean((2, 3)), batch.std((2, 3))], dim=1)


class WrongDim(MeanColour):
    dim = 5


class BatchDependent(MeanColour):
    def forward_images(self, batch):
        return super().forward_images(batch) - super().forward_images(batch).mean(0)


class UnpicklablePreprocess(MeanColour):
    def __init__(self, **options):
        super().__init__(**options)
        self.transform = lambda image: pixels(image)

    def preprocess(self, image):
        return self.transform(image)


RECORD = VectorRecord("pooled.v1", 3, "image", architecture="pooled", weights="v1",
                      preprocessing=Preprocessing(40, 32, mean=(0.5,) * 3, std=(0.5,) * 3))


def pooled(*, weights=None, device="auto", precision="fp32") -> ImageModuleEncoder:
    tag = "random" if weights == "random" else "v1"
    return ImageModuleEncoder(torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()),
                              RECORD.replace(encoder=f"pooled.{tag}", weights=tag), device=device, precision=precision)


class WordLengths(Encoder):
    """A text encoder that refuses images with the error for text given to an image encoder."""

    name = "word_lengths.v1"
    dim = 3
    modality = "text"

    def forward_texts(self, texts):
        return torch.tensor([[len(text) + 1.0, len(text.split()) + 1.0, 1.0] for text in texts])

    def encode_images(self, images, batch_size=32):
        raise TextNotSupportedError(f"encoder {self.name} embeds text only")


class OwnResize(ImageModuleEncoder):
    """Records a resize to 40, but resizes to 32."""

    def preprocess(self, image):
        return pixels(image)


@pytest.mark.parametrize(("encoder", "promise"), [
    (WrongDim(device="cpu"), "not (5, 5)"),
    (BatchDependent(device="cpu"), "the batch size changes the vectors"),
    (UnpicklablePreprocess(device="cpu"), "preprocess cannot be pickled"),
    (OwnResize(torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()), RECORD, device="cpu"),
     "preprocess is not the transform its record describes"),
    (WordLengths(device="cpu"), "encode_images should raise ImagesNotSupportedError, not TextNotSupportedError"),
], ids=["wrong-dim", "batch-dependent", "unpicklable", "own-resize", "images-refused-as-text"])
def test_a_broken_promise_is_a_contract_error_that_names_it(encoder, promise):
    with pytest.raises(ContractError, match=re.escape(promise)):
        check_encoder(encoder, registered=False)


def test_an_encoder_that_keeps_every_promise_passes_and_is_told_what_did_not_apply():
    outcomes = check_encoder(MeanColour(device="cpu"), registered=False)
    assert outcomes["vectors"] == outcomes["modality"] == outcomes["record"] == "passed"
    assert outcomes["texts"] == "mean_colour.v1 embeds images only"
    assert "goes unnoticed" in outcomes["preprocessing_matches_record"] and "rebuild" not in outcomes


@pytest.fixture
def registered(monkeypatch, fresh_plugins):
    """`pooled.v1` registered by a plugin, with or without its architecture as an alias."""
    monkeypatch.setattr("embedkit.encoders.ENCODERS",
                        Registry("encoder", lambda registry: load_registry("register_encoders", registry)))

    def register_with(aliases: tuple[str, ...]) -> None:
        class Plugin:
            @hookimpl
            def register_encoders(self, register):
                register("pooled.v1", pooled, aliases=aliases, record=RECORD)

        plugin_manager().register(Plugin(), name="pooled")

    return register_with


def test_a_registered_encoder_is_created_again_from_its_record(registered):
    from embedkit.encoders import get_encoder

    registered(("pooled",))
    for name in ("pooled.v1", "pooled.random"):
        outcomes = check_encoder(get_encoder(name, device="cpu"))
        assert outcomes["rebuild"] == outcomes["registration"] == outcomes["preprocessing_matches_record"] == "passed"


def test_random_weights_without_the_architecture_as_an_alias_cannot_be_created_again(registered):
    registered(())
    with pytest.raises(ContractError, match="as an alias so that NAME.random resolves"):
        check_encoder(pooled(weights="random", device="cpu"))


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return MeanColour(device="cpu")


class TestMeanColourKeepsTheContract(EncoderContract):
    """The pytest class runs every check as a test; `registered = False` skips the two that need a registry."""

    registered = False

    def images(self):
        return sample_images()[:3]
