"""open_clip encoders (`clip:ARCH/TAG`), built offline with random weights; text-to-image search end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from embedkit import get_encoder, list_encoders
from embedkit.encoders import entry_record
from embedkit.encoders.rebuild import encoder_from_record
from embedkit.cli import main
from embedkit.errors import InvalidOptionError, TextNotSupportedError, UnknownNameError, WeightsMismatchError, WeightsUnavailableError
from embedkit.ingestion import ingest
from embedkit.retrieval import search
from tests.support.photos import make_photo_folder

SMALL = "clip:ViT-S-32-alt"


@pytest.fixture(scope="module")
def clip():
    return get_encoder(f"{SMALL}.random", image_size=64, device="cpu")


def test_random_weights_give_a_named_deterministic_image_and_text_encoder(clip, photos):
    assert clip.name == "clip:ViT-S-32-alt.random" and clip.vector_name == "clip:ViT-S-32-alt.random-64px"
    assert (clip.dim, clip.modality) == (256, "image+text")
    again = get_encoder("clip:ViT-S-32-alt/none", image_size=64, device="cpu")  # 0.1.0's spelling, mapped
    assert again.vector_name == clip.vector_name
    images = clip.encode([photos["cat"], photos["coffee"]], modality="image")
    texts = clip.encode(["a photo of a cat", "a cup of coffee", "a rocket"], modality="text")
    assert images.shape == (2, 256) and texts.shape == (3, 256)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(again.encode_texts(["a photo of a cat"]), texts[:1], atol=1e-5)
    np.testing.assert_allclose(again.encode_images([photos["cat"]]), images[:1], atol=1e-6)
    record = clip.record
    assert record.weights == "random" and record.image_size == 64
    assert (record.preprocessing.resize, record.preprocessing.crop, record.preprocessing.interpolation) == (64, 64, "bicubic")


def test_a_file_name_is_an_image_when_images_are_asked_for_and_never_guessed(clip, photo_files):
    path = str(photo_files["cat"])
    with pytest.raises(InvalidOptionError, match="embeds images and text: pass modality='image'"):
        clip.encode([path])
    from_file = clip.encode([path], modality="image")
    np.testing.assert_allclose(from_file, clip.encode_images([photo_files["cat"]]), atol=1e-6)
    assert not np.allclose(from_file, clip.encode([path], modality="text"), atol=1e-3)  # the text "…/cat.jpg"


def test_a_local_checkpoint_loads_and_is_named_by_its_hash(clip, photos, tmp_path):
    path = tmp_path / "tuned.pt"
    state = {k: v.clone() for k, v in clip.module.state_dict().items()}
    state["visual.proj"] = state["visual.proj"] * 2 + 0.01
    torch.save(state, path)
    tuned = get_encoder(SMALL, weights=str(path), image_size=64, device="cpu")
    assert tuned.name.startswith("clip:ViT-S-32-alt/ckpt-") and tuned.weights_sha256
    with pytest.raises(UnknownNameError, match="unknown encoder 'clip:ViT-S-32-alt/openai'"):  # it has no such tag
        get_encoder(f"{SMALL}/openai", weights=str(path), device="cpu")
    assert not np.allclose(tuned.encode_images([photos["cat"]]), clip.encode_images([photos["cat"]]))
    np.testing.assert_allclose(tuned.encode_texts(["a dog"]), clip.encode_texts(["a dog"]), atol=1e-6)  # text tower unchanged


def test_a_checkpoint_of_another_architecture_names_the_mismatch(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"visual.proj": torch.zeros(3, 3)}, path)
    with pytest.raises(WeightsMismatchError, match="do not fit clip:ViT-S-32-alt"):
        get_encoder(SMALL, weights=str(path), device="cpu")
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        get_encoder(SMALL, weights=str(tmp_path / "missing.pt"), device="cpu")


def test_offline_without_cached_weights_says_where_they_are_expected(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(WeightsUnavailableError, match=r"clip:ViT-B-32/openai are not cached.*"
                       r"models--timm--vit_base_patch32_clip_224.openai.*--weights PATH.*NAME.random"):
        get_encoder("clip:ViT-B-32/openai", device="cpu")


def test_unknown_architectures_and_tags_suggest_close_names():
    with pytest.raises(UnknownNameError, match="clip:ViT-B-32/openai"):
        get_encoder("clip:ViT-B-32/opena", device="cpu")
    with pytest.raises(UnknownNameError, match="did you mean 'clip:ViT-B-32/openai'"):
        get_encoder("clip:ViT-B-3/openai", device="cpu")
    with pytest.raises(WeightsUnavailableError, match="no pretrained weights for clip:ViT-S-32-alt"):
        get_encoder(SMALL, device="cpu")


def test_the_listing_shows_the_clip_family_and_every_pretrained_name_open_clip_knows():
    (entry,) = list_encoders("clip*")
    assert entry.name == "clip:" and entry_record(entry).modality == "image+text"
    assert "clip:ViT-B-32/laion2b_s34b_b79k" in entry.aliases and "clip:RN50/openai" in entry.aliases
    assert [e.name for e in list_encoders("clip:ViT-B-32/*")] == ["clip:"]
    result = CliRunner().invoke(main, ["encoders", "clip*", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)[0]["name"] == "clip:"


def test_text_search_ranks_images_ingested_with_the_same_clip_encoder(clip, photos, tmp_path):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    report = ingest(f"folder:{folder}", clip, store=tmp_path / "store", workers=0)
    assert report.stored == 12 and report.vector_name == "clip:ViT-S-32-alt.random-64px"
    result = search("folder-photos", encoder=clip, text="a photo of a cat", k=5, store=tmp_path / "store")
    scores = [hit.score for hit in result.hits]
    assert len(result.hits) == 5 and scores == sorted(scores, reverse=True)
    # random weights: only the mechanics can be checked; the ranking is the exact cosine one
    with __import__("embedkit").open_store(tmp_path / "store") as store:
        ids, arrays, _ = next(store.iter_points("folder-photos", [report.vector_name]))
    exact = arrays[report.vector_name] @ clip.encode_texts(["a photo of a cat"])[0]
    assert [hit.sample_id for hit in result.hits] == [ids[i] for i in np.argsort(-exact)[:5]]

    cli = CliRunner().invoke(main, ["search", "-c", "folder-photos", "-e", "clip:ViT-S-32-alt.random", "--image-size",
                                    "64", "--text", "a photo of a cat", "-k", "3", "--qdrant", str(tmp_path / "store"),
                                    "--json", "--device", "cpu"])
    assert cli.exit_code == 0, cli.output
    assert [h["sample_id"] for h in json.loads(cli.output)["hits"]] == [h.sample_id for h in result.hits[:3]]


def test_a_text_query_to_an_image_only_encoder_is_refused(tmp_path, photos):
    cnn = get_encoder("mobilenet_v2.random", image_size=32, device="cpu")
    with pytest.raises(TextNotSupportedError, match="embeds images only"):
        cnn.encode_texts(["a cat"])
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    ingest(f"folder:{folder}", cnn, store=tmp_path / "store", workers=0, limit=2)
    with pytest.raises(TextNotSupportedError, match="search by text needs a text encoder"):
        search("folder-photos", encoder=cnn, text="a cat", store=tmp_path / "store")


def test_a_tags_preprocessing_is_recorded_and_rebuilt_with_its_checkpoint(clip, photos, tmp_path, monkeypatch):
    import open_clip

    squash = next(open_clip.get_pretrained_cfg(arch, tag) for arch, tag in open_clip.list_pretrained()
                  if open_clip.get_pretrained_cfg(arch, tag).get("resize_mode") == "squash")
    real = open_clip.pretrained.get_pretrained_cfg
    monkeypatch.setattr(open_clip.pretrained, "get_pretrained_cfg",
                        lambda arch, tag: squash if (arch, tag) == ("ViT-S-32-alt", "squashed") else real(arch, tag))
    path = tmp_path / "tuned.pt"
    torch.save(clip.module.state_dict(), path)
    tuned = get_encoder(f"{SMALL}/squashed", weights=str(path), image_size=64, device="cpu")
    assert tuned.name.startswith("clip:ViT-S-32-alt/squashed/ckpt-")  # the tag's config is part of the model
    recorded = tuned.record.preprocessing
    assert (recorded.resize_mode, recorded.mean) == ("squash", tuple(squash["mean"]))
    expected = open_clip.image_transform(64, is_train=False, mean=squash["mean"], std=squash["std"],
                                         resize_mode="squash", interpolation=squash.get("interpolation", "bicubic"))
    torch.testing.assert_close(tuned.preprocess(photos["astronaut"]), expected(photos["astronaut"]))
    rebuilt = encoder_from_record(tuned.record, device="cpu")  # the name says nothing of the tag; the record does
    np.testing.assert_allclose(rebuilt.encode_images([photos["astronaut"]]), tuned.encode_images([photos["astronaut"]]),
                               atol=1e-5)


def test_one_string_and_images_as_text_are_refused(clip, photos, photo_files):
    with pytest.raises(InvalidOptionError, match=r"as a list, e.g. \['a cat'\]"):
        clip.encode("a cat", modality="text")
    with pytest.raises(InvalidOptionError, match="texts must be strings, not"):
        clip.encode([photos["cat"]], modality="text")
    with pytest.raises(InvalidOptionError, match="as a list"):
        clip.encode_images(photo_files["cat"])


def test_the_written_out_pretrained_names_are_open_clips_own():
    import open_clip

    from embedkit.encoders.builtin.clip_pretrained import OPEN_CLIP_VERSION, PRETRAINED

    written = [(arch, tag) for arch, tags in PRETRAINED.items() for tag in tags]
    assert open_clip.__version__ == OPEN_CLIP_VERSION, "open_clip changed: write its names out again"
    assert written == open_clip.list_pretrained(), "open_clip changed: write its names out again"


def test_another_open_clip_version_is_asked_for_its_names(monkeypatch):
    import open_clip

    from embedkit.encoders.builtin import clip as family

    monkeypatch.setattr(family, "open_clip_version", lambda: "99.0")
    monkeypatch.setattr(open_clip, "list_pretrained", lambda: [("ViT-Z-1", "future")])
    assert family.pretrained_names() == [("ViT-Z-1", "future")]


@pytest.fixture
def no_cached_clip_weights(monkeypatch, tmp_path):
    """An empty Hugging Face cache, HF_HUB_OFFLINE unset, and every download of open_clip recorded."""
    import huggingface_hub.constants
    import open_clip

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    downloads = []

    def download_pretrained(cfg, *args, **kwargs):
        downloads.append(cfg)
        raise RuntimeError("the hub answered 503")

    monkeypatch.setattr(open_clip, "download_pretrained", download_pretrained)
    return downloads


def test_offline_an_uncached_clip_fails_at_once_without_trying_to_download(no_cached_clip_weights, monkeypatch):
    import socket

    def no_network(address, *args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(WeightsUnavailableError) as raised:
        get_encoder("clip:ViT-B-32/openai", device="cpu")
    message = str(raised.value)
    assert no_cached_clip_weights == []  # no download was tried, so no minute of retries
    assert "not cached and cannot be downloaded now (huggingface.co cannot be reached" in message
    assert "`hf download timm/vit_base_patch32_clip_224.openai open_clip_model.safetensors`" in message
    assert "models--timm--vit_base_patch32_clip_224.openai here" in message
    assert "--weights PATH" in message and "NAME.random" in message and "\n" not in message


def test_with_a_network_an_uncached_clip_is_downloaded_by_open_clip(no_cached_clip_weights, monkeypatch):
    import socket

    class Connection:
        def close(self):
            pass

    monkeypatch.setattr(socket, "create_connection", lambda address, *args, **kwargs: Connection())
    with pytest.raises(WeightsUnavailableError, match=r"could not be downloaded \(the hub answered 503\)"):
        get_encoder("clip:ViT-B-32/openai", device="cpu")
    assert [cfg["hf_hub"] for cfg in no_cached_clip_weights] == ["timm/vit_base_patch32_clip_224.openai/"]


def test_the_command_line_prints_a_hub_warning_once():
    import subprocess
    import sys

    code = ("import logging\nfrom embedkit.cli import main\ntry:\n    main(['encoders', 'st:*'])\n"
            "except SystemExit:\n    pass\nimport huggingface_hub.utils.logging\n"
            "logging.getLogger('huggingface_hub.utils._http').warning('Retrying in 1s [Retry 1/5].')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stderr.count("Retrying in 1s") == 1, result.stderr
