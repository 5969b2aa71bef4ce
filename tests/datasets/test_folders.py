"""Your own images: folder:PATH and manifest:FILE.csv, and what happens with bad input."""

from __future__ import annotations

import pytest
from tests.support.datasets import jpeg_bytes

from embedkit.datasets import get_dataset
from embedkit.datasets.decode import DecodeReport, decode
from embedkit.errors import DatasetFormatError, DatasetUnavailableError, ImageLoadError


@pytest.fixture
def photo_folder(tmp_path):
    """cats/ (2 JPEGs, a truncated one, a note), dogs/ (1 PNG), birds/ (empty), a stray file at the top."""
    root = tmp_path / "photos"
    for name, colour in (("cats/a.jpg", (200, 0, 0)), ("cats/b.jpg", (0, 200, 0)), ("dogs/rex.png", (0, 0, 200))):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        data = jpeg_bytes(colour)
        (root / name).write_bytes(data)
    (root / "cats" / "broken.jpg").write_bytes(jpeg_bytes((1, 2, 3), (64, 64))[:300])
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / "cats" / ".DS_Store").write_bytes(b"\0")
    (root / "birds").mkdir()
    (root / "README.md").write_text("hello")
    return root


def test_folder_labels_images_by_sub_folder(photo_folder):
    dataset = get_dataset(f"folder:{photo_folder}")
    assert dataset.name == f"folder:{photo_folder}"
    assert dataset.classes == ["birds", "cats", "dogs"]
    view = dataset.view()
    assert [s.id for s in view] == ["folder/cats/a.jpg", "folder/cats/b.jpg", "folder/cats/broken.jpg",
                                    "folder/dogs/rex.png"]
    assert [s.label_name for s in view] == ["cats", "cats", "cats", "dogs"]
    assert view[0].source == str(photo_folder / "cats" / "a.jpg")
    assert view[0].image().getpixel((3, 3))[0] > 150


def test_non_image_files_are_ignored_with_a_note_and_empty_classes_reported(photo_folder):
    notes = get_dataset(f"folder:{photo_folder}").notes
    assert any(note.startswith("ignored 2 non-image file(s)") and "README.md" in note and "cats/notes.txt" in note
               for note in notes)
    assert any("1 class folder(s)" in note and "birds" in note for note in notes)
    assert not any(".DS_Store" in note for note in notes)


def test_corrupt_images_are_skipped_and_reported_by_id_and_path(photo_folder):
    view = get_dataset(f"folder:{photo_folder}").view()
    report = DecodeReport()
    decoded = [s.id for batch in decode(view, report=report, batch_size=2) for s in batch.samples]
    assert decoded == ["folder/cats/a.jpg", "folder/cats/b.jpg", "folder/dogs/rex.png"]
    assert [(s.id, s.source) for s in report.skipped] == [
        ("folder/cats/broken.jpg", str(photo_folder / "cats" / "broken.jpg"))]
    assert report.summary() == "read 3 of 4 images; skipped 1 unreadable"
    assert "folder/cats/broken.jpg" in report.details()[0] and str(photo_folder) in report.details()[0]


def test_strict_decoding_fails_on_the_first_corrupt_image(photo_folder):
    view = get_dataset(f"folder:{photo_folder}").view()
    with pytest.raises(ImageLoadError, match="folder/cats/broken.jpg.*broken.jpg.*truncated"):
        list(decode(view, strict=True, batch_size=2))


def test_sample_image_names_the_sample_when_it_cannot_be_read(photo_folder):
    sample = get_dataset(f"folder:{photo_folder}").view()[2]
    with pytest.raises(ImageLoadError, match=r"sample 'folder/cats/broken.jpg' \(.*broken.jpg\)"):
        sample.image()


def test_a_flat_folder_gives_unlabelled_samples(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.jpg").write_bytes(jpeg_bytes((i, i, i)))
    dataset = get_dataset(f"folder:{tmp_path}")
    assert dataset.classes == [] and dataset.notes == []
    sample = dataset.view()[1]
    assert sample.id == "folder/1.jpg" and sample.label is None and sample.label_name is None
    assert dataset.counts() == {"all": {"": 3}}


def test_a_link_loop_is_read_once_and_said(tmp_path):
    root = tmp_path / "photos"
    (root / "cats").mkdir(parents=True)
    for i in range(5):
        (root / "cats" / f"{i}.jpg").write_bytes(jpeg_bytes((i, i, i)))
    (root / "cats" / "again").symlink_to(root / "cats", target_is_directory=True)  # a loop
    (root / "kittens").symlink_to(root / "cats", target_is_directory=True)  # another way into the same folder
    dataset = get_dataset(f"folder:{root}")
    assert len(dataset) == 5 and dataset.classes == ["cats"]
    assert any("2 linked folder(s)" in note and "cats/again" in note and "kittens" in note for note in dataset.notes)


def test_a_linked_folder_read_once_still_counts(tmp_path):
    elsewhere = tmp_path / "shared" / "dogs"
    elsewhere.mkdir(parents=True)
    (elsewhere / "rex.jpg").write_bytes(jpeg_bytes((9, 9, 9)))
    root = tmp_path / "photos"
    (root / "cats").mkdir(parents=True)
    (root / "cats" / "tom.jpg").write_bytes(jpeg_bytes((1, 1, 1)))
    (root / "dogs").symlink_to(elsewhere, target_is_directory=True)
    dataset = get_dataset(f"folder:{root}")
    assert dataset.classes == ["cats", "dogs"] and len(dataset) == 2 and dataset.notes == []


def test_depth_makes_nested_folders_the_classes(tmp_path):
    for name in ("animals/cats/a.jpg", "animals/dogs/b.jpg", "plants/trees/c.jpg", "plants/d.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(jpeg_bytes((9, 9, 9)))
    shallow = get_dataset(f"folder:{tmp_path}")
    assert shallow.classes == ["animals", "plants"]
    deep = get_dataset(f"folder:{tmp_path}", depth=2)
    assert deep.classes == ["animals/cats", "animals/dogs", "plants/trees"]
    assert [s.label_name for s in deep.view()] == ["animals/cats", "animals/dogs", None, "plants/trees"]
    assert any("1 image(s) lie above the class folders" in note for note in deep.notes)


def test_a_folder_that_is_missing_or_has_no_images_is_an_actionable_error(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="is not a folder"):
        get_dataset(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "doc.txt").write_text("x")
    with pytest.raises(DatasetUnavailableError, match="holds no image files"):
        get_dataset(f"folder:{tmp_path}")


def test_manifest_reads_paths_relative_to_the_csv_labels_splits_and_payload(tmp_path):
    (tmp_path / "img").mkdir()
    for name in ("a", "b", "c"):
        (tmp_path / "img" / f"{name}.jpg").write_bytes(jpeg_bytes((50, 60, 70)))
    (tmp_path / "list.csv").write_text(
        "path,label,split,photographer\n"
        "img/a.jpg,cat,train,Ann\n"
        "img/b.jpg,dog,test,Bo\n"
        "img/c.jpg,,train,\n"
    )
    dataset = get_dataset(f"manifest:{tmp_path / 'list.csv'}")
    assert dataset.classes == ["cat", "dog"] and dataset.splits == ("train", "test")
    train = dataset.view("train")
    assert [s.id for s in train] == ["manifest/img/a.jpg", "manifest/img/c.jpg"]
    first = train[0]
    assert (first.label, first.label_name, first.split) == (0, "cat", "train")
    assert first.payload == {"photographer": "Ann"}
    assert first.source == str(tmp_path / "img" / "a.jpg")
    assert first.image().size == (12, 8)
    assert train[1].label is None
    assert dataset.view("test")[0].label_name == "dog"


def test_manifest_without_a_path_column_names_the_columns(tmp_path):
    (tmp_path / "bad.csv").write_text("file,label\nx.jpg,cat\n")
    with pytest.raises(DatasetFormatError, match="no 'path' column \\(it has file, label\\)"):
        get_dataset(f"manifest:{tmp_path / 'bad.csv'}")
    ok = get_dataset(f"manifest:{tmp_path / 'bad.csv'}", path_column="file")
    assert any("1 path(s)" in note and "do not exist" in note for note in ok.notes)


def test_manifest_refuses_a_path_listed_twice(tmp_path):
    (tmp_path / "twice.csv").write_text("path\nx.jpg\nx.jpg\n")
    with pytest.raises(DatasetFormatError, match="lines 2 and 3"):
        get_dataset(f"manifest:{tmp_path / 'twice.csv'}")
