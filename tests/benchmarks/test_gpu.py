"""benchmarks/gpu.py: one line and status 2 without a GPU; on a CPU (--allow-cpu) every stage runs through the
same code it runs on a GPU and records a figure; images decoded as tensors are preprocessed as PIL images are."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from embedkit import get_encoder

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"


def run_script(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


@pytest.fixture(scope="module")
def gpu_script():
    spec = importlib.util.spec_from_file_location("gpu_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_gpu_it_says_so_in_one_line_and_exits_with_status_2():
    result = run_script("--out", "/nonexistent/never-written", CUDA_VISIBLE_DEVICES="")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "needs a CUDA GPU" in result.stderr
    assert result.stdout == ""


def test_tensors_decoded_on_a_device_are_preprocessed_as_the_encoder_preprocesses_pil_images(gpu_script, photos,
                                                                                               tmp_path):
    from torchvision.io import ImageReadMode, decode_jpeg, read_file

    encoder = get_encoder("mobilenet_v2.random", device="cpu")
    paths = []
    for name in ("cat", "coffee"):
        paths.append(tmp_path / f"{name}.jpg")
        photos[name].save(paths[-1], quality=95)
    decoded = decode_jpeg([read_file(str(path)) for path in paths], mode=ImageReadMode.RGB, device="cpu")
    batch = gpu_script.tensor_preprocess(decoded, encoder.record.preprocessing)
    expected = torch.stack([encoder.preprocess(Image.open(path).convert("RGB")) for path in paths])
    assert batch.shape == expected.shape == (2, 3, 224, 224)
    assert float((batch - expected).abs().mean()) < 0.02  # resampling differs a little between PIL and torch
    vectors, reference = encoder.embed_pixels(batch), encoder.embed_pixels(expected)
    assert (vectors * reference).sum(1).min() > 0.99


@pytest.mark.slow
def test_on_a_cpu_every_stage_runs_and_records_its_figure(tmp_path):
    out = tmp_path / "out"
    result = run_script("--allow-cpu", "--quick", "--encoders", "mobilenet_v2.random", "--compile", "",
                        "--train", "mobilenet_v2.random", "--no-serve", "--generated-arrays",
                        "--photos", "2", "--photos-folder", str(tmp_path / "jpegs"), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((out / "gpu.json").read_text())
    stages = figures["stages"]
    assert not {name: entry["error"] for name, entry in stages.items() if "error" in entry}
    for name in ("bare forward", "ingest arrays", "ingest JPEG", "JPEG decoded on the device"):
        assert np.isfinite(stages[f"mobilenet_v2.random: {name}"]["images_per_second"]), name
    assert stages["train"]["images_per_second"] > 0
    assert figures["arrays"].startswith("generated 28 x 28 arrays")
    table = (out / "gpu.md").read_text()
    assert "| mobilenet_v2.random |" in table and "train (mobilenet_v2.random" in table
