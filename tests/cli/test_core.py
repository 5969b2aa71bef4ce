"""The `embedkit` command: encoders, embed, version, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedkit import __version__


def test_encoders_lists_the_cnns_and_the_plugin_encoders_with_dimensions(run):
    result = run("encoders", "--json")
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.output)}
    dims = {"densenet121": 1024, "resnet50": 2048, "vgg16": 512, "mobilenet_v2": 1280,
            "efficientnet-lite0": 1280, "efficientnet-lite1": 1280, "efficientnet-lite2": 1280}
    for alias, dim in dims.items():
        (row,) = [r for r in rows.values() if alias in r["aliases"]]
        assert row["dim"] == dim and row["modality"] == "image"
    assert rows["efficientnet_lite0.imagenet1k"]["weights_local"] is True


def test_encoders_filters_with_a_glob_and_renders_a_table(run):
    result = run("encoders", "eff*")
    assert result.exit_code == 0
    assert "efficientnet_lite2.imagenet1k" in result.output and "resnet50" not in result.output


def test_embed_prints_unit_vectors_as_json(run, photo_files):
    result = run("embed", photo_files["cat"], photo_files["coffee"], "--encoder", "efficientnet-lite0")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["encoder"]["encoder"] == "efficientnet_lite0.imagenet1k"
    vectors = np.array([item["vector"] for item in document["items"]])
    assert vectors.shape == (2, 1280)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert document["items"][0]["image"] == str(photo_files["cat"])


def test_embed_writes_npy(run, photo_files, tmp_path):
    out = tmp_path / "vectors.npy"
    result = run("embed", photo_files["rocket"], "-e", "mobilenet_v2.random",
                 "--image-size", "64", "-o", out)
    assert result.exit_code == 0
    assert np.load(out).shape == (1, 1280)


def test_embed_names_a_file_that_is_not_an_image_in_one_line(run, photo_files, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = run("embed", photo_files["cat"], notes, "-e", "efficientnet-lite0")
    assert result.exit_code == 1
    assert str(notes) in result.output and "not an image file" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_embed_reports_a_truncated_image(run, photo_files, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photo_files["cat"].read_bytes()[:2000])
    result = run("embed", broken, "-e", "efficientnet-lite0")
    assert result.exit_code == 1 and "truncated or corrupt" in result.output and str(broken) in result.output


def test_an_unknown_encoder_lists_close_matches(run, photo_files):
    result = run("embed", photo_files["cat"], "-e", "resnet5")
    assert result.exit_code == 2
    assert "unknown encoder 'resnet5'; did you mean 'resnet50'" in result.output


def test_missing_weights_are_one_line_without_traceback(run, photo_files, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    result = run("embed", photo_files["cat"], "-e", "vgg16")
    assert result.exit_code == 1
    assert "NAME.random" in result.output and "Traceback" not in result.output


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_a_file_that_cannot_be_written_is_a_one_line_error(run, photo_files, tmp_path):
    result = run("embed", photo_files["cat"], "-e", "mobilenet_v2.random", "--image-size", "32",
                 "-o", tmp_path / "missing" / "out.json")
    assert result.exit_code == 1
    assert "No such file or directory" in result.output and "Traceback" not in result.output


def test_a_usage_error_is_one_line_that_points_to_help(run):
    for args in (["ingest"], ["search", "-c", "x", "-k", "zero"], ["embed", "--no-such-option", "x.jpg"]):
        result = run(*args)
        assert result.exit_code == 2, args
        assert result.stderr.count("\n") == 1 and "Usage:" not in result.stderr, result.stderr
        assert result.stderr.startswith("error: ") and "--help` shows the options" in result.stderr


def test_opening_a_store_this_process_holds_names_the_remedy(tmp_path):
    from embedkit.errors import StoreLockedError
    from embedkit.retrieval import search
    from embedkit.store import open_store

    (tmp_path / "store").mkdir()
    with open_store(tmp_path / "store") as held:
        with pytest.raises(StoreLockedError, match="already open in this process; pass that open store"):
            search("c", sample_id="x", store=tmp_path / "store")
        assert held.collections() == []


def test_embed_reads_files_as_ingest_does_and_takes_json(run, photos, tmp_path):
    from embedkit.encoders import get_encoder
    from embedkit.images import ReadOptions, load_image

    big = tmp_path / "big.jpg"
    photos["cat"].resize((1400, 1050)).save(big, quality=92)
    model = get_encoder("mobilenet_v2.random", image_size=64, device="cpu")
    reduced, full = (model.encode_images([load_image(big, ReadOptions(draft_size=size))])[0] for size in (64, None))
    for flags, expected in (((), reduced), (("--full-decode",), full)):
        result = run("embed", big, "-e", "mobilenet_v2.random", "--image-size", 64, "--json", *flags)
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        np.testing.assert_allclose(document["items"][0]["vector"], expected, atol=1e-5)
        assert document["encoder"]["reading"]["reduced_decoding"] is not bool(flags)
    assert not np.allclose(reduced, full, atol=1e-5)
