"""Every way of getting weights: hub cache, local checkpoint, random, missing offline, not fitting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from embedkit import get_encoder
from embedkit.errors import WeightsMismatchError, WeightsUnavailableError
from embedkit.encoders.weights import hub_checkpoint_path


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


@pytest.fixture(scope="module")
def reference_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(7)
    return torchvision.models.mobilenet_v2(weights=None).state_dict()


def reference_vectors(state, images) -> np.ndarray:
    model = torchvision.models.mobilenet_v2(weights=None)
    model.load_state_dict(state)
    model.classifier = torch.nn.Identity()
    encoder = get_encoder("mobilenet_v2.random", device="cpu")
    with torch.inference_mode():
        features = model.eval()(torch.stack([encoder.preprocess(image) for image in images]))
    return torch.nn.functional.normalize(features, dim=1).numpy()


def test_the_hub_cache_file_is_used_without_network(torch_home, reference_state, photos):
    url = torchvision.models.MobileNet_V2_Weights.DEFAULT.url
    cached = hub_checkpoint_path(url)
    assert str(cached).startswith(str(torch_home))
    cached.parent.mkdir(parents=True)
    torch.save(reference_state, cached)

    encoder = get_encoder("mobilenet_v2", device="cpu")
    assert encoder.name == "mobilenet_v2.imagenet1k_v2"
    images = [photos["cat"], photos["coffee"]]
    np.testing.assert_allclose(encoder.encode_images(images), reference_vectors(reference_state, images), atol=1e-5)
    assert encoder.record.weights_sha256 and encoder.record.weights_file == str(cached)


def test_missing_weights_offline_say_which_file_where_and_how(torch_home):
    with pytest.raises(WeightsUnavailableError) as raised:
        get_encoder("densenet121", device="cpu")
    message = str(raised.value)
    expected = hub_checkpoint_path(torchvision.models.DenseNet121_Weights.DEFAULT.url)
    assert str(expected) in message
    assert "--weights PATH" in message and "NAME.random" in message
    assert "\n" not in message


def test_a_local_state_dict_loads_and_is_named_by_its_checksum(tmp_path, reference_state, photos):
    path = tmp_path / "mine.pth"
    torch.save(reference_state, path)
    encoder = get_encoder("mobilenet_v2", weights=str(path), device="cpu")
    assert encoder.name.startswith("mobilenet_v2.ckpt-") and len(encoder.name.split("ckpt-")[1]) == 8
    np.testing.assert_allclose(
        encoder.encode_images([photos["rocket"]]), reference_vectors(reference_state, [photos["rocket"]]), atol=1e-5
    )


def test_a_fine_tuned_training_checkpoint_with_another_head_loads(tmp_path, reference_state, photos):
    fine_tuned = torchvision.models.mobilenet_v2(weights=None, num_classes=102)
    backbone = {k: v for k, v in reference_state.items() if not k.startswith("classifier.")}
    fine_tuned.load_state_dict(backbone, strict=False)
    wrapped = {f"module.{k}": v for k, v in fine_tuned.state_dict().items()}  # saved from DataParallel
    path = tmp_path / "finetuned.pt"
    torch.save({"epoch": 12, "model_state_dict": wrapped, "best_acc": 0.9}, path)

    encoder = get_encoder("mobilenet_v2", weights=path, device="cpu")
    np.testing.assert_allclose(
        encoder.encode_images([photos["cat"]]), reference_vectors(reference_state, [photos["cat"]]), atol=1e-5
    )


def test_a_checkpoint_of_another_architecture_names_the_first_mismatching_layer(tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    with pytest.raises(WeightsMismatchError) as raised:
        get_encoder("resnet50", weights=path, device="cpu")
    message = str(raised.value)
    assert "does not fit resnet50" in message and "layer 'layer1.0.conv1.weight'" in message
    assert "(64, 64, 3, 3)" in message and "(64, 64, 1, 1)" in message


def test_a_file_that_is_no_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("not a checkpoint")
    with pytest.raises(WeightsMismatchError, match="cannot read checkpoint"):
        get_encoder("mobilenet_v2", weights=path)
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        get_encoder("mobilenet_v2", weights=tmp_path / "absent.pth")


def test_random_weights_need_no_file(torch_home):
    encoder = get_encoder("resnet50.random", device="cpu")
    assert encoder.name == "resnet50.random"
    assert encoder.record.weights_sha256 is None
    assert not torch_home.exists()


@pytest.mark.parametrize("environment", [{}, {"TORCH_HOME": "/data/torch"}, {"XDG_CACHE_HOME": "/data/cache"}],
                         ids=["default", "TORCH_HOME", "XDG_CACHE_HOME"])
def test_the_hub_folder_is_torchs_own_without_importing_torch(environment):
    import json
    import os
    import subprocess
    import sys

    code = ("import json, sys; from embedkit.encoders.weights import torch_hub_dir; without = str(torch_hub_dir()); "
            "imported = 'torch' in sys.modules; import torch; "
            "print(json.dumps([without, imported, torch.hub.get_dir()]))")
    settings = {key: value for key, value in os.environ.items() if key not in ("TORCH_HOME", "XDG_CACHE_HOME")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**settings, **environment})
    without, imported, with_torch = json.loads(result.stdout)
    assert without == with_torch and not imported


def test_a_hub_folder_moved_by_torch_is_followed(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "elsewhere"))
    assert hub_checkpoint_path("https://host/w.pth") == tmp_path / "elsewhere" / "checkpoints" / "w.pth"
