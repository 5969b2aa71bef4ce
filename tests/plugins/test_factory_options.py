"""An option a plugin's encoder factory does not take (`--weights`, `NAME.random`, `--image-size`, `NAME-32px`,
`--layer`) is an InvalidOptionError that names it, in one line, never a TypeError from inside the plugin."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embedkit import Encoder
from embedkit.encoders import get_encoder
from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.plugins import load_registry, plugin_manager
from embedkit.registry import Registry


class Brightness(Encoder):
    name = "bright.v1"
    dim = 3

    def preprocess(self, image):
        return torch.from_numpy(np.asarray(image.resize((16, 16)), dtype=np.float32)).permute(2, 0, 1)

    def forward_images(self, pixels):
        return pixels.mean((2, 3)) + 1


def passes_options_on(**options):
    """A factory that hides what it takes behind **options: the encoder's constructor is what refuses."""
    return Brightness(**options)


class BarePlugin:
    @hookimpl
    def register_encoders(self, register):
        register("bright.v1", Brightness, aliases=("bright",), dim=3, modality="image")
        register("onward.v1", passes_options_on, aliases=("onward",), dim=3, modality="image")


@pytest.fixture(autouse=True)
def bare_plugin(monkeypatch, fresh_plugins) -> None:
    """The plugin above loaded into encoder registries filled afresh for the test."""
    monkeypatch.setattr("embedkit.encoders.ENCODERS",
                        Registry("encoder", lambda registry: load_registry("register_encoders", registry)))
    plugin_manager().register(BarePlugin(), name="bare")


NOT_TAKEN = [
    ("{}", {"weights": "none"}, "weights"),
    ("{}.random", {}, "weights"),
    ("{}", {"weights": "/tmp/checkpoint.pt"}, "weights"),
    ("{}", {"image_size": 32}, "image_size"),
    ("{}-32px", {}, "image_size"),
    ("{}", {"layer": "fc"}, "layer"),
]
NOT_TAKEN_IDS = ["weights-none", "NAME.random", "weights-path", "image-size", "NAME-32px", "layer"]


def test_a_factory_that_takes_only_device_and_precision_builds_with_them():
    assert get_encoder("bright", device="cpu", precision="fp32").vector_name == "bright.v1"


@pytest.mark.parametrize(("name", "options", "option"), NOT_TAKEN, ids=NOT_TAKEN_IDS)
def test_an_option_the_factory_does_not_take_is_refused_by_name_in_one_line(name, options, option):
    with pytest.raises(InvalidOptionError, match=f"'{option}'") as refused:
        get_encoder(name.format("bright"), device="cpu", **options)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(("name", "options", "option"), NOT_TAKEN[:1] + NOT_TAKEN[3:4], ids=["weights", "image-size"])
def test_an_option_a_factory_passes_on_to_an_encoder_that_does_not_take_it_is_refused_by_name(name, options, option):
    with pytest.raises(InvalidOptionError, match=f"'{option}'"):
        get_encoder(name.format("onward"), device="cpu", **options)
