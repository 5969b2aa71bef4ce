"""`embedkit datasets`: listing, downloading, showing with a contact sheet, checking images."""

from __future__ import annotations

import json

from tests.support.datasets import IDX_SIZES, jpeg_bytes
from PIL import Image


def test_datasets_lists_every_built_in_and_whether_it_is_here(run, mirror):
    run("datasets", "download", "mnist")
    result = run("datasets", "--json")
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["mnist"]["local"] is True and rows["cifar10"]["local"] is False
    assert rows["cifar100"]["classes"] == 100 and rows["caltech101-20"]["size"] == 1000
    assert rows["folder:"]["local"] is None
    table = run("datasets").stdout
    assert "caltech101-20" in table and "fashion-mnist" in table and str(mirror.data) in table


def test_download_fetches_and_prepares_a_dataset(run, mirror):
    result = run("datasets", "download", "fashion-mnist")
    assert result.exit_code == 0, result.output
    assert f"fashion-mnist: {sum(IDX_SIZES.values())} images, 10 classes" in result.stdout
    assert (mirror.data / "fashion-mnist" / "train-images-idx3-ubyte.gz").is_file()
    again = json.loads(run("datasets", "download", "fashion-mnist", "--json").stdout)
    assert again["images"] == sum(IDX_SIZES.values()) and again["classes"] == 10
    assert again["splits"] == ["train", "test"]


def test_show_prints_classes_and_counts_per_split(run, mirror):
    result = run("datasets", "show", "mnist", "--json")
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["splits"] == ["train", "test"] and shown["classes"][3] == "3"
    assert sum(shown["counts"]["test"].values()) == IDX_SIZES["test"]
    table = run("datasets", "show", "mnist", "--split", "test").stdout
    assert "test" in table and "train" not in table.split("\n", 1)[1]


def test_show_grid_writes_one_row_per_class(run, mirror, tmp_path):
    sheet = tmp_path / "sheet.png"
    result = run("datasets", "show", "cifar10", "--grid", sheet, "--per-class", 2)
    assert result.exit_code == 0, result.output
    image = Image.open(sheet)
    assert image.height == 10 * 64 and image.width == 160 + 2 * 64
    assert "10 rows x 2 images" in result.output


def test_show_passes_dataset_options(run, tmp_path):
    for name in ("a/x/1.jpg", "a/y/2.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(jpeg_bytes((1, 1, 1)))
    shown = json.loads(run("datasets", "show", f"folder:{tmp_path}", "-O", "depth=2", "--json").stdout)
    assert shown["classes"] == ["a/x", "a/y"]


def test_check_reports_corrupt_images_and_strict_fails_on_the_first(run, tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "good.jpg").write_bytes(jpeg_bytes((1, 1, 1)))
    (tmp_path / "cats" / "bad.jpg").write_bytes(jpeg_bytes((1, 1, 1), (64, 64))[:200])
    result = run("datasets", "check", f"folder:{tmp_path}", "--workers", 0)
    assert result.exit_code == 1  # a dataset with an unreadable image does not pass a check
    assert "skipped: sample 'folder/cats/bad.jpg'" in result.output
    assert "read 1 of 2 images; skipped 1 unreadable" in result.output
    strict = run("datasets", "check", f"folder:{tmp_path}", "--workers", 0, "--strict")
    assert strict.exit_code == 1
    assert strict.output.startswith("error: sample 'folder/cats/bad.jpg'") and "Traceback" not in strict.output
    as_json = run("datasets", "check", f"folder:{tmp_path}", "--workers", 0, "--json")
    checked = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and checked["read"] == 1 and [item["sample_id"] for item in checked["skipped"]] == ["folder/cats/bad.jpg"]
    assert checked["skipped"][0]["source"] == str(tmp_path / "cats" / "bad.jpg")
    (tmp_path / "cats" / "bad.jpg").unlink()
    assert run("datasets", "check", f"folder:{tmp_path}", "--workers", 0).exit_code == 0


def test_errors_are_one_line_with_a_hint(run, mirror):
    unknown = run("datasets", "show", "fashon-mnist")
    assert unknown.exit_code == 2 and "did you mean 'fashion-mnist'" in unknown.output
    missing = run("datasets", "show", "mnist", "--no-download")
    assert missing.exit_code == 1 and "embedkit datasets download mnist" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    bad_option = run("datasets", "show", "mnist", "-O", "nonsense")
    assert bad_option.exit_code == 2 and "KEY=VALUE" in bad_option.output
