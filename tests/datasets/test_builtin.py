"""Every built-in dataset, downloaded from a local server in its publisher's format and read back."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch.utils.data
from tests.support.datasets import CALTECH_CATEGORIES, CIFAR10_SIZES, IDX_SIZES, cifar_pixel, idx_pixel

from embedkit.datasets import DATASETS, DatasetView, Sample, get_dataset, list_datasets
from embedkit.datasets.decode import DecodeReport, decode
from embedkit.errors import DatasetUnavailableError, InvalidOptionError, UnknownNameError

BUILT_INS = ["caltech101", "caltech101-20", "cifar10", "cifar100", "fashion-mnist", "folder:", "hf:", "manifest:", "mnist",
             "parquet:", "webdataset:"]


def test_every_built_in_is_registered_through_the_plugin_hook():
    entries = {entry.name: entry for entry in list_datasets()}
    assert sorted(entries) == BUILT_INS
    assert all(entry.plugin == "embedkit.datasets.builtin" for entry in entries.values())
    assert [entry.name for entry in list_datasets("cifar*")] == ["cifar10", "cifar100"]


def test_unknown_dataset_lists_the_closest_names():
    with pytest.raises(UnknownNameError, match="did you mean 'cifar10'"):
        get_dataset("cifar01")


def test_unknown_option_names_the_dataset():
    with pytest.raises(InvalidOptionError, match="'cifar10'.*colour"):
        get_dataset("cifar10", colour=True)


def test_cifar10_downloads_unpacks_and_reads_the_pickled_batches(mirror):
    dataset = get_dataset("cifar10")
    assert dataset.splits == ("train", "test")
    assert dataset.classes[:3] == ["airplane", "automobile", "bird"]
    assert (mirror.data / "cifar10" / "cifar-10-python.tar.gz").is_file()
    assert (mirror.data / "cifar10" / "cifar-10-batches-py" / "data_batch_5").is_file()
    train = dataset.view("train")
    assert len(train) == CIFAR10_SIZES["train"] and len(dataset.view("test")) == CIFAR10_SIZES["test"]
    sample = train[13]  # batch 4, row 1 of the generated batches
    assert sample.id == "cifar10/train/00013"
    assert sample.label == (4 + 1) % 10 and sample.label_name == dataset.classes[sample.label]
    assert sample.source.endswith("cifar-10-batches-py/data_batch_4::1")
    image = sample.image()
    assert image.mode == "RGB" and image.size == (32, 32)
    assert image.getpixel((5, 7)) == cifar_pixel(13, sample.label)  # planes become channels, not rows


def test_cifar100_has_fine_classes_and_coarse_labels_in_the_payload(mirror):
    dataset = get_dataset("cifar100")
    assert len(dataset.classes) == 100 and dataset.classes[7] == "fine_07"
    sample = dataset.view("train")[3]
    assert sample.label == 39 and sample.label_name == "fine_39"
    assert sample.payload == {"coarse_label": 7, "coarse_label_name": "coarse_07"}
    assert sample.image().getpixel((0, 0)) == cifar_pixel(3, 39)


@pytest.mark.parametrize("name, offset", [("fashion-mnist", 0), ("mnist", 100)])
def test_idx_datasets_download_the_four_gzipped_files(mirror, name, offset):
    dataset = get_dataset(name)
    assert len(dataset.classes) == 10
    assert sorted(p.name for p in (mirror.data / name).glob("*.gz")) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    test = dataset.view("test")
    assert len(test) == IDX_SIZES["test"] and len(dataset.view("train")) == IDX_SIZES["train"]
    sample = test[4]
    assert sample.id == f"{name}/test/00004" and sample.label == 4
    assert sample.source.endswith(f"{name}/t10k-images-idx3-ubyte.gz::4")
    image = sample.image()
    assert image.size == (28, 28) and image.mode == "RGB"
    assert image.getpixel((14, 14)) == (idx_pixel(4, offset),) * 3


def test_caltech101_leaves_out_the_background_class_by_default(mirror):
    dataset = get_dataset("caltech101")
    assert (mirror.data / "caltech101" / "101_ObjectCategories" / "tiny").is_dir()
    assert not (mirror.data / "caltech101" / "101_ObjectCategories.tar.gz").exists()  # the inner archive is gone
    assert "BACKGROUND_Google" not in dataset.classes
    assert len(dataset.classes) == len(CALTECH_CATEGORIES) - 1
    view = dataset.view()
    assert len(view) == sum(count for name, count in CALTECH_CATEGORIES.items() if name != "BACKGROUND_Google")
    first = view[0]
    assert first.id == "caltech101/category_00/image_0001.jpg" and first.split == "all"
    assert first.label_name == "category_00" and first.image().size == (12, 8)
    with_background = get_dataset("caltech101", background=True)
    assert "BACKGROUND_Google" in with_background.classes
    assert len(with_background) == len(view) + CALTECH_CATEGORIES["BACKGROUND_Google"]


def test_caltech101_20_draws_the_same_20_by_50_images_from_a_seed(mirror):
    first = get_dataset("caltech101-20")
    again = get_dataset("caltech101-20")
    other = get_dataset("caltech101-20", seed=1)
    assert len(first.classes) == 20 and "tiny" not in first.classes  # too few images to be drawn
    assert set(first.view().counts().values()) == {50}
    assert len(first) == 1000
    assert first.view().content_hash() == again.view().content_hash()
    assert first.view().content_hash() != other.view().content_hash()
    assert first.view()[0].id.startswith("caltech101-20/")


def test_caltech101_20_refuses_a_subset_bigger_than_the_data(mirror):
    with pytest.raises(InvalidOptionError, match="categories with 50 or more"):
        get_dataset("caltech101-20", categories=30)


def test_second_open_reuses_the_files_without_the_network(mirror):
    get_dataset("cifar10")
    mirror.server.requests.clear()
    dataset = get_dataset("cifar10", download=False)
    assert len(dataset) == sum(CIFAR10_SIZES.values())
    assert mirror.server.requests == []


def test_without_download_a_missing_dataset_says_how_to_get_it(mirror):
    with pytest.raises(DatasetUnavailableError, match="embedkit datasets download mnist"):
        get_dataset("mnist", download=False)
    assert mirror.server.requests == []


def test_data_dir_argument_wins_over_the_environment(mirror, tmp_path):
    get_dataset("mnist", data_dir=tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()
    assert not (mirror.data / "mnist").exists()


def test_views_select_splits_limit_and_hash_their_content(mirror):
    dataset = get_dataset("fashion-mnist")
    everything = dataset.view()
    assert len(everything) == sum(IDX_SIZES.values())
    assert everything[IDX_SIZES["train"]].id == "fashion-mnist/test/00000"
    assert everything[-1].id == f"fashion-mnist/test/{IDX_SIZES['test'] - 1:05d}"
    limited = dataset.view("test", limit=3)
    assert [s.id for s in limited] == [f"fashion-mnist/test/0000{i}" for i in range(3)]
    assert limited.dataset_name == "fashion-mnist" and limited.split == "test" and limited.classes == dataset.classes
    assert limited.content_hash() == dataset.view("test", limit=3).content_hash()
    assert limited.content_hash() != dataset.view("test", limit=4).content_hash()
    assert len({s.id for s in everything}) == len(everything)
    with pytest.raises(IndexError):
        limited[3]
    with pytest.raises(InvalidOptionError, match="use one of train, test"):
        dataset.view("validation")


def test_getting_a_sample_reads_no_pixels(mirror, monkeypatch):
    view = get_dataset("cifar10").view("test")
    monkeypatch.setattr(view.parts[0].pixels, "image", lambda index: pytest.fail("pixels were read"))
    sample = view[2]
    assert isinstance(sample, Sample) and sample.label == 2


def test_views_pickle_without_their_pixels(mirror):
    view = get_dataset("cifar10").view("train")
    view.parts[0].pixels.array()  # the memory map is open in this process
    data = pickle.dumps(view)
    assert len(data) < 4096
    copy: DatasetView = pickle.loads(data)
    assert copy[7].id == view[7].id
    assert np.array_equal(np.asarray(copy[7].image()), np.asarray(view[7].image()))


def test_dataloader_workers_decode_a_view(mirror):
    view = get_dataset("cifar10").view()
    loader = torch.utils.data.DataLoader(view, batch_size=5, num_workers=2, collate_fn=list)
    ids = [sample.id for batch in loader for sample in batch]
    assert ids == [sample.id for sample in view]
    report = DecodeReport()
    to_tensor = ToTensor()
    batches = list(decode(view, to_tensor, batch_size=8, num_workers=2, report=report))
    assert sum(len(b.samples) for b in batches) == len(view) and report.skipped == []
    assert batches[0].values.shape == (8, 3, 32, 32)


class ToTensor:
    """A picklable transform, like an encoder's preprocess."""

    def __call__(self, image):
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


def test_registry_info_says_whether_a_dataset_is_here(mirror):
    present = DATASETS.resolve("mnist")[0].info["present"]
    assert present() is False
    get_dataset("mnist")
    assert present() is True


def test_a_relative_data_folder_gives_absolute_sources(mirror, monkeypatch, tmp_path):
    monkeypatch.delenv("EMBEDKIT_DATA")
    monkeypatch.chdir(tmp_path)
    first = get_dataset("caltech101", data_dir="data").view()[0]
    assert first.source.startswith(str(tmp_path / "data")), first.source
    monkeypatch.chdir("/")
    assert first.image().size == (12, 8)  # found again from another folder
