"""`hf:PATH`: a Hugging Face dataset on local disk: a folder written by `save_to_disk` (a Dataset, or a
DatasetDict whose splits become the dataset's splits), or the Parquet files `to_parquet` wrote. The Arrow and
Parquet files are read with pyarrow (memory-mapped); the `datasets` library is needed only to write them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from embedkit.datasets.base import ALL
from embedkit.datasets.parquet import TableDataset, TableFiles
from embedkit.datasets.shards import shard_files
from embedkit.datasets.tables import Columns
from embedkit.errors import DatasetFormatError, DatasetUnavailableError, InvalidOptionError


def saved_split(folder: Path, split: str, root: str) -> TableFiles:
    """The Arrow files of one Dataset saved with `save_to_disk` (its state.json lists them)."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        names = [item["filename"] for item in state["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetFormatError(f"{folder / 'state.json'} cannot be read ({error}); save the dataset again with "
                                 f"save_to_disk") from error
    files = [folder / name for name in names]
    missing = [str(file) for file in files if not file.is_file()]
    if missing:
        raise DatasetFormatError(f"{folder} lacks {', '.join(missing)}, listed in its state.json; save the dataset "
                                 f"again with save_to_disk")
    return TableFiles(files, root, split, arrow=True)


def saved_groups(folder: Path) -> list[TableFiles] | None:
    """The splits of a folder written by `save_to_disk`, or None when it is not one."""
    if (folder / "dataset_dict.json").is_file():
        try:
            splits = json.loads((folder / "dataset_dict.json").read_text(encoding="utf-8"))["splits"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DatasetFormatError(f"{folder / 'dataset_dict.json'} cannot be read ({error}); save the dataset "
                                     f"again with save_to_disk") from error
        return [saved_split(folder / split, str(split), str(folder)) for split in splits]
    if (folder / "state.json").is_file():
        return [saved_split(folder, ALL, str(folder))]
    return None


class HuggingFaceDataset(TableDataset):
    """A Hugging Face dataset on disk; its Image column (or `image_column`) holds the images, its ClassLabel
    column (`label`, or `label_column`) the labels, named as the dataset names them."""

    kind = "hf"

    def __init__(self, path: str, image_column: str | None = None, path_column: str | None = None,
                 label_column: str | None = None, caption_column: str | None = None, id_column: str | None = None):
        super().__init__()
        if not path:
            raise InvalidOptionError("hf: needs a folder written by save_to_disk or Parquet files, e.g. hf:./my-set")
        if "://" in path or (not os.path.exists(os.path.expanduser(path)) and path.count("/") == 1
                             and "*" not in path):
            raise DatasetUnavailableError(f"hf: reads local files only, and {path} is not one; download it with "
                                          f"datasets.load_dataset({path!r}).save_to_disk(FOLDER), then hf:FOLDER")
        folder = Path(path).expanduser()
        groups = saved_groups(folder.resolve()) if folder.is_dir() else None
        if groups is None:
            root, files = shard_files("hf", path, (".parquet",), self.notes)
            groups = [TableFiles(files, root)]
        self.name = f"hf:{os.path.abspath(os.path.expanduser(path))}"
        self.build(groups, Columns(image_column, path_column, label_column, caption_column, id_column))
