"""The fine-tuned family: a model folder (card and weights, as `embedkit train` writes them) is an encoder by name.

Models written by hand here, so that no training runs; tests/training covers the models `train` makes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from embedkit import get_encoder, list_encoders
from embedkit.encoders.builtin.finetuned_pretrained import card_record, finetuned_models, finetuned_name, models_dir
from embedkit.encoders.weights import file_sha256
from embedkit.errors import InvalidOptionError, WeightsUnavailableError

NAME = "mobilenet_v2.ft-hand"


def write_model(folder, *, weights=True):
    """A model fine-tuned from mobilenet_v2.random at 32 px, with weights of another seed than the base's."""
    base = get_encoder("mobilenet_v2.random", image_size=32, device="cpu")
    record = base.record.replace(encoder=NAME, weights="ft-hand", weights_sha256=None, weights_file=None,
                                 source="embedkit train", details={"base": base.record.encoder})
    folder.mkdir(parents=True)
    card = {"encoder": NAME, "record": record.to_json(),
            "base": {"encoder": base.record.encoder, "weights": base.record.weights, "options": {}}}
    (folder / "card.json").write_text(json.dumps(card))
    if weights:
        with torch.random.fork_rng():
            torch.manual_seed(1)
            for module in base.module.modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
        torch.save(base.module.state_dict(), folder / "weights.pt")
    return folder


@pytest.fixture
def models(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDKIT_MODELS", str(tmp_path / "models"))
    return tmp_path / "models"


def fresh_registry(monkeypatch):
    """An encoder registry loaded anew, as another process's: it finds the models written since."""
    from embedkit.plugins import load_registry
    from embedkit.registry import Registry

    monkeypatch.setattr("embedkit.encoders.ENCODERS",
                        Registry("encoder", lambda registry: load_registry("register_encoders", registry)))


def test_a_model_folder_is_an_encoder_named_and_recorded_as_the_model(models, monkeypatch, photos):
    folder = write_model(models / NAME)
    fresh_registry(monkeypatch)
    assert NAME in [entry.name for entry in list_encoders("*.ft-*")]
    encoder = get_encoder(NAME, device="cpu")
    weights = folder / "weights.pt"
    assert (encoder.name, encoder.vector_name, encoder.dim) == (NAME, f"{NAME}-32px", 1280)
    assert encoder.weights_file == weights
    assert encoder.record == card_record(folder).replace(weights_sha256=file_sha256(weights),
                                                         weights_file=str(weights), precision="fp32")
    network = get_encoder("mobilenet_v2.random", image_size=32, device="cpu").module
    network.load_state_dict(torch.load(weights, weights_only=True))
    expected = torch.nn.functional.normalize(network(encoder.preprocess(photos["cat"])[None]), dim=1)
    assert encoder.encode_images([photos["cat"]]) == pytest.approx(expected.numpy(), abs=1e-5)


@pytest.mark.parametrize(("options", "message"), [
    ({"weights": "other.pt"}, "its own weights and layer; leave out --weights and --layer"),
    ({"layer": "pool"}, "its own weights and layer; leave out --weights and --layer"),
    ({"image_size": 64}, "was trained at image size 32; leave out --image-size"),
])
def test_options_that_would_change_the_model_are_refused(models, monkeypatch, options, message):
    write_model(models / NAME)
    fresh_registry(monkeypatch)
    with pytest.raises(InvalidOptionError, match=message):
        get_encoder(NAME, device="cpu", **options)


def test_a_model_whose_weights_went_missing_says_to_train_it_again(models, monkeypatch):
    folder = write_model(models / NAME)
    fresh_registry(monkeypatch)
    list_encoders()
    (folder / "weights.pt").unlink()
    with pytest.raises(WeightsUnavailableError, match="are missing from .*; train it again"):
        get_encoder(NAME, device="cpu")


def test_only_folders_with_a_readable_card_and_weights_are_models(models, caplog):
    write_model(models / NAME)
    write_model(models / "mobilenet_v2.ft-unweighted", weights=False)
    (models / "broken").mkdir()
    (models / "broken" / "card.json").write_text("{")
    assert finetuned_models() == {NAME: models / NAME}
    assert "its card is unreadable" in caplog.text


def test_the_models_folder_and_the_names(tmp_path, monkeypatch):
    monkeypatch.delenv("EMBEDKIT_MODELS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert models_dir() == tmp_path / "embedkit" / "models"
    monkeypatch.setenv("EMBEDKIT_MODELS", str(tmp_path / "mine"))
    assert models_dir() == tmp_path / "mine"
    base = get_encoder("mobilenet_v2.random", image_size=32, device="cpu").record
    assert finetuned_name(base, "fmnist") == "mobilenet_v2.ft-fmnist"


def test_listing_the_models_imports_no_torch(models):
    write_model(models / NAME)
    code = ("import json, sys\nfrom embedkit import list_encoders\n"
            "names = [entry.name for entry in list_encoders('*.ft-*')]\n"
            "print(json.dumps([names, 'torch' in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == [[NAME], False]
