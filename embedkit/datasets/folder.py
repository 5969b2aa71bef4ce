"""`folder:PATH`: your own images, one sub-folder per class (or a flat folder of unlabelled images)."""

from __future__ import annotations

from pathlib import Path

from embedkit.datasets.base import ALL, Dataset, SampleSource
from embedkit.datasets.files import FilePart, scan_folder
from embedkit.errors import DatasetUnavailableError, InvalidOptionError


class FolderDataset(Dataset):
    """Images under PATH; the class of an image is its folder `depth` levels below PATH
    (depth 2: `animals/cats/tom.jpg` is in class `animals/cats`). Ids are `folder/<relative path>`."""

    def __init__(self, path: str, depth: int = 1):
        super().__init__()
        if not path:
            raise InvalidOptionError("folder: needs a path, e.g. folder:~/photos")
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
            raise InvalidOptionError(f"depth must be a whole number, 0 or more (e.g. -O depth=2), got {depth!r}")
        self.root = Path(path).expanduser().resolve()  # sources stored absolute: readable from anywhere
        self.name = f"folder:{self.root}"  # one folder, one name, however its path was typed
        if not self.root.is_dir():
            raise DatasetUnavailableError(
                f"{self.root} is not a folder; pass folder:PATH with the folder of your images"
            )
        scan = scan_folder(self.root, depth=depth)
        if not scan.paths:
            raise DatasetUnavailableError(f"{self.root} holds no image files (JPEG, PNG, WebP, BMP, TIFF, GIF)")
        self.classes = scan.classes
        self.notes = scan.notes()
        self._part = FilePart("folder", ALL, str(self.root), scan.paths, scan.labels, self.classes)

    def parts(self) -> list[SampleSource]:
        return [self._part]

    def identity(self) -> str:
        return f"folder:{self.root}"

    def source_description(self) -> str:
        kind = f"{len(self.classes)} class folders" if self.classes else "unlabelled images"
        return f"image folder {self.root} ({kind})"
