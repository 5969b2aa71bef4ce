"""A package someone else wrote plugs in through the `embedkit` entry point group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PLUGIN = textwrap.dedent('''
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
''')


def test_an_installed_plugin_is_listed_and_used(tmp_path, photo_files):
    (tmp_path / "brightness_plugin.py").write_text(PLUGIN)
    info = tmp_path / "brightness_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brightness-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[embedkit]\nbrightness = brightness_plugin\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    def embedkit(*args):
        return subprocess.run([sys.executable, "-m", "embedkit", *map(str, args)], env=env,
                              capture_output=True, text=True, timeout=120)

    listed = embedkit("encoders", "bright*", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "brightness.v1" and row["plugin"] == "brightness" and row["dim"] == 3

    embedded = embedkit("embed", photo_files["cat"], "--encoder", "brightness")
    assert embedded.returncode == 0, embedded.stderr
    assert len(json.loads(embedded.stdout)["items"][0]["vector"]) == 3
