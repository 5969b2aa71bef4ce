"""`parquet:PATH_OR_GLOB`: Parquet files of images (img2dataset's `jpg` bytes column, or a column of paths),
with a label column and a caption column; the rest of each row goes into the payload."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedkit.datasets.base import ALL, Dataset, SampleSource
from embedkit.datasets.shards import classes_of, label_indices, relative_name, shard_files
from embedkit.datasets.tables import Cells, Columns, TablePart, metadata_rows, open_arrow, open_parquet, row_payload

if TYPE_CHECKING:  # pyarrow is imported when a table is first read, not by every command that lists datasets
    import pyarrow as pa



@dataclass
class TableFiles:
    """Table files of one split, as a dataset reads them."""

    files: Sequence[Path]
    root: str
    split: str = ALL
    arrow: bool = False


@dataclass
class TableRows:
    """What the metadata pass found in the files of a dataset: per file, its kept rows and their metadata."""

    found: list[tuple[TableFiles, Path, Columns, list[int], list[dict[str, Any]]]] = field(default_factory=list)
    not_downloaded: int = 0


def hf_class_names(schema: pa.Schema, column: str | None) -> list[str] | None:
    """The names of a Hugging Face ClassLabel column, from the features `datasets` writes into the schema."""
    if column is None or not schema.metadata or b"huggingface" not in schema.metadata:
        return None
    try:
        features = json.loads(schema.metadata[b"huggingface"]).get("info", {}).get("features", {})
    except ValueError:
        return None
    feature = features.get(column, {})
    names = feature.get("names") if isinstance(feature, dict) and feature.get("_type") == "ClassLabel" else None
    return [str(name) for name in names] if names else None


def read_rows(groups: Sequence[TableFiles], wanted: Columns) -> tuple[TableRows, Columns, pa.Schema]:
    rows = TableRows()
    schema: pa.Schema | None = None
    columns = wanted
    for group in groups:
        for file in group.files:
            schema = open_arrow(str(file)).schema if group.arrow else open_parquet(str(file)).schema_arrow
            columns = wanted.chosen(schema, str(file))
            kept: list[int] = []
            metadata: list[dict[str, Any]] = []
            for number, row in enumerate(metadata_rows(str(file), columns.metadata(schema), group.arrow)):
                if row.get("status") not in (None, "success"):  # img2dataset lists the URLs it could not fetch
                    rows.not_downloaded += 1
                    continue
                kept.append(number)
                metadata.append(row)
            rows.found.append((group, file, columns, kept, metadata))
    assert schema is not None
    return rows, columns, schema


class TableDataset(Dataset):
    """Samples that are rows of table files (Parquet or Arrow), in the files' order; ids `<kind>/<file>/<key>`
    where the key is the id column's value (img2dataset's `key`), else the row's number."""

    kind = "parquet"

    def build(self, groups: Sequence[TableFiles], wanted: Columns) -> None:
        rows, columns, schema = read_rows(groups, wanted)
        names = hf_class_names(schema, columns.label)
        self.classes = names or classes_of(row.get(columns.label) for *_, metadata in rows.found
                                           for row in metadata) if columns.label else []
        self._parts: list[SampleSource] = []
        for group, file, file_columns, kept, metadata in rows.found:
            if not kept:
                continue
            values = [row.get(file_columns.label) for row in metadata] if file_columns.label else [None] * len(kept)
            labels = ([None if value is None else int(value) for value in values] if names
                      else label_indices(values, self.classes))
            keys = [str(row[file_columns.id]) if file_columns.id and row.get(file_columns.id) is not None
                    else f"{number:06d}" for number, row in zip(kept, metadata)]
            name = relative_name(file, group.root)
            prefix = f"{self.kind}/{name}"  # a split saved by save_to_disk is a folder: its name is in the path
            column = file_columns.image or file_columns.path
            assert column is not None
            self._parts.append(TablePart(prefix, Cells(str(file), column, group.arrow), kept, keys, labels,
                                         self.classes, [row_payload(row, file_columns) for row in metadata],
                                         image_is_path=file_columns.image is None, split=group.split,
                                         id_column=file_columns.id))
        if rows.not_downloaded:
            self.notes.append(f"{rows.not_downloaded} row(s) are URLs img2dataset could not download (status is "
                              f"not success) and were left out")
        self.splits = tuple(dict.fromkeys(group.split for group in groups))
        self.files = [str(file) for group in groups for file in group.files]

    def parts(self) -> list[SampleSource]:
        return self._parts

    def identity(self) -> str:
        return self.name

    def source_description(self) -> str:
        return f"{len(self.files)} {self.kind} file(s) under {os.path.commonpath(self.files)}"


class ParquetDataset(TableDataset):
    """Parquet files whose rows are images: `image_column` (bytes; img2dataset's `jpg` when not named) or
    `path_column` (image paths relative to the file), `label_column` (`label` when there is one),
    `caption_column` (`caption`), `id_column` (`key`)."""

    kind = "parquet"

    def __init__(self, path: str, image_column: str | None = None, path_column: str | None = None,
                 label_column: str | None = None, caption_column: str | None = None, id_column: str | None = None):
        super().__init__()
        root, files = shard_files("parquet", path, (".parquet",), self.notes)
        self.name = f"parquet:{os.path.abspath(os.path.expanduser(path))}"
        self.build([TableFiles(files, root)], Columns(image_column, path_column, label_column, caption_column,
                                                      id_column))
