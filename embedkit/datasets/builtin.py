"""The built-in datasets, registered through the same hook as any plugin's."""

from __future__ import annotations

from collections.abc import Callable

from embedkit.datasets.caltech import Caltech101, Caltech101Subset
from embedkit.datasets.cifar import Cifar10, Cifar100
from embedkit.datasets.folder import FolderDataset
from embedkit.datasets.huggingface import HuggingFaceDataset
from embedkit.datasets.manifest import ManifestDataset
from embedkit.datasets.mnist import FashionMnist, Mnist
from embedkit.datasets.parquet import ParquetDataset
from embedkit.datasets.published import PublishedDataset
from embedkit.datasets.webdataset import WebDatasetDataset
from embedkit.hookspecs import hookimpl


def present(dataset: type[PublishedDataset]) -> Callable[..., bool]:
    return lambda data_dir=None: dataset.find(data_dir) is not None


@hookimpl
def register_datasets(register: Callable[..., None]) -> None:
    published: list[tuple[type[PublishedDataset], int, int, str, tuple[str, ...]]] = [
        (Caltech101, 101, 8677, "Caltech-101 objects, without BACKGROUND_Google (background=True: 102 classes, "
                                "9,144 images)", ("caltech-101",)),
        (Caltech101Subset, 20, 1000, "20 Caltech-101 categories x 50 images, drawn from seed=0", ("caltech20",)),
        (Cifar10, 10, 60000, "CIFAR-10, 32x32 colour, 50,000 train + 10,000 test", ("cifar-10",)),
        (Cifar100, 100, 60000, "CIFAR-100, 32x32 colour, 100 classes in 20 superclasses", ("cifar-100",)),
        (FashionMnist, 10, 70000, "Fashion-MNIST, 28x28 grey Zalando articles, 60,000 train + 10,000 test",
         ("fashion_mnist", "fmnist")),
        (Mnist, 10, 70000, "MNIST handwritten digits, 28x28 grey, 60,000 train + 10,000 test", ()),
    ]
    for dataset, classes, size, description, aliases in published:
        register(dataset.name, dataset, aliases=aliases, classes=classes, size=size, splits=dataset.splits,
                 description=description, homepage=dataset.homepage, present=present(dataset))
    register("folder:", FolderDataset, description="your images, one sub-folder per class (depth=N for nesting)")
    register("manifest:", ManifestDataset, description="a CSV of image paths, labels and payload columns")
    register("webdataset:", WebDatasetDataset,
             description="WebDataset tar shards (img2dataset's output): image, .txt caption, .json/.cls label")
    register("parquet:", ParquetDataset, description="Parquet files of image bytes (img2dataset's jpg column) or paths")
    register("hf:", HuggingFaceDataset, description="a Hugging Face dataset saved to disk (save_to_disk or to_parquet)")
