"""A package someone else wrote plugs in through the `embedkit` entry point group."""

from __future__ import annotations

import json

PLUGIN = '''
    import numpy as np, torch
    from embedkit import Encoder
    from embedkit.hookspecs import hookimpl

    class Brightness(Encoder):
        name = "brightness.v1"
        dim = 3

        def preprocess(self, image):
            return torch.from_numpy(np.asarray(image.resize((32, 32)), dtype=np.float32)).permute(2, 0, 1)

        def forward_images(self, pixels):
            return pixels.mean((2, 3)) + 1

    @hookimpl
    def register_encoders(register):
        register("brightness.v1", Brightness, aliases=("brightness",), dim=3, modality="image")
'''


def test_an_installed_plugin_is_listed_and_used(install_plugin, run_embedkit, photo_files):
    path = install_plugin("brightness", PLUGIN)

    listed = run_embedkit("encoders", "bright*", "--json", path=path, load="efficientnet_lite,brightness")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "brightness.v1" and row["plugin"] == "brightness" and row["dim"] == 3

    embedded = run_embedkit("embed", photo_files["cat"], "--encoder", "brightness", path=path, load="brightness")
    assert embedded.returncode == 0, embedded.stderr
    assert len(json.loads(embedded.stdout)["items"][0]["vector"]) == 3
