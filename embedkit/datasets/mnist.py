"""MNIST and Fashion-MNIST: 28x28 grey images in gzipped IDX files, 60,000 train and 10,000 test."""

from __future__ import annotations

from pathlib import Path

from embedkit.datasets.arrays import ArrayPart
from embedkit.datasets.download import Resource
from embedkit.datasets.idx import open_images, read_labels
from embedkit.datasets.published import PathLike, PublishedDataset
from embedkit.errors import DatasetFormatError

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def resources(mirrors: tuple[str, ...], md5s: dict[str, str]) -> tuple[Resource, ...]:
    return tuple(Resource(f"{stem}.gz", md5s[stem], tuple(m + f"{stem}.gz" for m in mirrors))
                 for pair in FILES.values() for stem in pair)


class IdxDataset(PublishedDataset):
    """Four IDX files, each found plain or gzipped, in one folder."""

    splits = ("train", "test")
    stored_as = "IDX files"
    class_names: tuple[str, ...] = ()

    def load(self, folder: Path, data_dir: PathLike | None) -> None:
        self.classes = list(self.class_names)
        cache = self.cache_dir(data_dir)
        for split, (images_stem, labels_stem) in FILES.items():
            images_path, labels_path = self._file(images_stem), self._file(labels_stem)
            pixels = open_images(images_path, cache)
            labels = read_labels(labels_path)
            if len(labels) != len(pixels):
                raise DatasetFormatError(f"{images_path} holds {len(pixels)} images but {labels_path} "
                                         f"{len(labels)} labels; download the dataset again")
            if len(labels) and labels.max() >= len(self.classes):
                raise DatasetFormatError(f"{labels_path} has label {labels.max()}; {self.name} has "
                                         f"{len(self.classes)} classes")
            self._parts.append(ArrayPart(self.name, split, pixels, labels, self.classes,
                                         [(0, str(images_path))]))

    @classmethod
    def holds(cls, folder: Path) -> bool:
        return all((folder / stem).is_file() or (folder / f"{stem}.gz").is_file()
                   for pair in FILES.values() for stem in pair)

    def _file(self, stem: str) -> Path:
        plain = self.folder / stem
        return plain if plain.is_file() else self.folder / f"{stem}.gz"


class FashionMnist(IdxDataset):
    name = "fashion-mnist"
    homepage = "https://github.com/zalandoresearch/fashion-mnist"
    folders = ("fashion-mnist", "FashionMNIST/raw")
    class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    resources = resources(
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        {
            "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    )


class Mnist(IdxDataset):
    name = "mnist"
    homepage = "http://yann.lecun.com/exdb/mnist/"
    folders = ("mnist", "MNIST/raw")
    class_names = tuple(str(digit) for digit in range(10))
    resources = resources(
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        {
            "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    )
