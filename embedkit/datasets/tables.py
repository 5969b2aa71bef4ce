"""Samples stored as rows of a table file (Parquet, or the Arrow files of a Hugging Face dataset saved to disk):
the image column read a batch at a time when a row is asked for, every other column read once, without it."""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from embedkit.datasets.base import ALL, Sample
from embedkit.datasets.shards import SKIPPED_FIELDS
from embedkit.errors import DatasetFormatError, ImageLoadError
from embedkit.images import ImageBytes

if TYPE_CHECKING:  # pyarrow is imported when a table is first read, not by every command that lists datasets
    import pyarrow as pa
    import pyarrow.parquet as pq


IMAGE_COLUMNS = ("jpg", "jpeg", "png", "webp", "image", "img")
"""Columns taken for the image when none is named: img2dataset's `jpg`, Hugging Face's `image`."""
READ_ROWS = 64
"""Rows of the image column read at a time."""


@dataclass(frozen=True)
class Columns:
    """Which columns hold what. `image`: image bytes (binary, or Hugging Face's {bytes, path} struct); `path`:
    image paths (relative to the table's folder) instead; `label`, `caption`, `id` (a stable key per row)."""

    image: str | None = None
    path: str | None = None
    label: str | None = None
    caption: str | None = None
    id: str | None = None

    def chosen(self, schema: pa.Schema, where: str) -> Columns:
        """Columns named by the user, checked against `schema`, with the defaults filled in."""
        names = list(schema.names)
        for option, name in (("image_column", self.image), ("path_column", self.path),
                             ("label_column", self.label), ("caption_column", self.caption),
                             ("id_column", self.id)):
            if name is not None and name not in names:
                raise DatasetFormatError(f"{where} has no column {name!r} (it has {', '.join(names)}); pass "
                                         f"{option}= with one of them")
        image = self.image
        if image is None and self.path is None:
            image = next((name for name in IMAGE_COLUMNS if name in names), None)
            if image is None:
                raise DatasetFormatError(f"{where} has no image column ({', '.join(IMAGE_COLUMNS)}) (it has "
                                         f"{', '.join(names)}); pass image_column= (bytes) or path_column= (paths)")
        return Columns(image, self.path, self.label or ("label" if "label" in names else None),
                       self.caption or ("caption" if "caption" in names else None),
                       self.id or ("key" if "key" in names else None))

    def metadata(self, schema: pa.Schema) -> list[str]:
        """The columns read once for every row: everything but the image, as long as it is text or a number."""
        import pyarrow as pa

        return [item.name for item in schema if item.name not in (self.image, self.path)
                and (pa.types.is_string(item.type) or pa.types.is_large_string(item.type)
                     or pa.types.is_integer(item.type) or pa.types.is_floating(item.type)
                     or pa.types.is_boolean(item.type))]


def open_parquet(path: str) -> pq.ParquetFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise DatasetFormatError(f"{path} is truncated or not a Parquet file ({error}); write it again or leave "
                                 f"it out of the glob") from error


def open_arrow(path: str) -> pa.Table:
    """An Arrow stream file (what `datasets.save_to_disk` writes), memory-mapped: its pages are read when used."""
    import pyarrow as pa

    try:
        return pa.ipc.open_stream(pa.memory_map(path)).read_all()
    except (pa.ArrowException, OSError) as error:
        raise DatasetFormatError(f"{path} is truncated or not an Arrow file ({error}); save the dataset again")\
            from error


def metadata_rows(path: str, columns: Sequence[str], arrow: bool) -> Iterator[dict[str, Any]]:
    """The rows of `columns`, a batch at a time (the image column is never read here)."""
    import pyarrow as pa

    if not columns:
        rows = open_arrow(path).num_rows if arrow else open_parquet(path).metadata.num_rows
        yield from ({} for _ in range(rows))
        return
    try:
        batches = (open_arrow(path).select(list(columns)).to_batches() if arrow
                   else open_parquet(path).iter_batches(batch_size=4096, columns=list(columns)))
        for batch in batches:
            yield from batch.to_pylist()
    except (pa.ArrowException, OSError) as error:
        raise DatasetFormatError(f"{path} is truncated or damaged ({error}); write it again") from error


@dataclass
class Cells:
    """One column of one table file, read a batch of rows at a time and kept until a row outside it is asked for
    (a worker asks for rows in order). Pickles as its path: each process opens the file itself."""

    path: str
    column: str
    arrow: bool = False
    _batch: list[Any] | None = field(default=None, repr=False)
    _start: int = field(default=0, repr=False)
    _batches: Iterator[pa.RecordBatch] | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "column": self.column, "arrow": self.arrow, "_batch": None, "_start": 0,
                "_batches": None}

    def cell(self, row: int) -> Any:
        if self._batch is None or row < self._start:
            self._restart(row)
        assert self._batch is not None and self._batches is not None
        while row >= self._start + len(self._batch):
            self._start += len(self._batch)
            try:
                self._batch = next(self._batches).column(0).to_pylist()
            except StopIteration as ended:
                raise ImageLoadError(f"{self.path} has no row {row}") from ended
        return self._batch[row - self._start]

    def _restart(self, row: int) -> None:
        if self.arrow:
            table = open_arrow(self.path).select([self.column])
            self._batches, self._start = iter(table.to_batches(max_chunksize=READ_ROWS)), 0
        else:
            file = open_parquet(self.path)
            starts = [0]
            for group in range(file.metadata.num_row_groups):
                starts.append(starts[-1] + file.metadata.row_group(group).num_rows)
            group = max(0, bisect.bisect_right(starts, row) - 1)
            self._batches = file.iter_batches(batch_size=READ_ROWS, columns=[self.column],
                                              row_groups=range(group, file.metadata.num_row_groups))
            self._start = starts[group]
        self._batch = []

    def image(self, row: int, folder: str, is_path: bool) -> ImageBytes | str:
        """The image of a row: its bytes, or its path (relative to `folder`)."""
        import pyarrow as pa

        try:
            value = self.cell(row)
        except (pa.ArrowException, OSError) as error:
            raise ImageLoadError(f"cannot read row {row} of {self.path} ({error})") from error
        if isinstance(value, Mapping):  # Hugging Face's Image feature: {"bytes": ..., "path": ...}
            value = value.get("bytes") or value.get("path")
        if isinstance(value, (bytes, bytearray)):
            return ImageBytes(bytes(value), f"{self.path}::{row}")
        if isinstance(value, str) and value:
            return value if os.path.isabs(value) else os.path.join(folder, value)
        if is_path and value:
            return str(value)
        raise ImageLoadError(f"row {row} of {self.path} holds no image")


@dataclass
class TablePart:
    """The rows of one table file that hold a sample: ids `<prefix>/<file>/<key or row>`, sources `FILE::ROW`."""

    id_prefix: str
    cells: Cells
    rows: Sequence[int]
    keys: Sequence[str]
    label_list: Sequence[int | None]
    classes: Sequence[str]
    payloads: Sequence[dict[str, Any]]
    image_is_path: bool = False
    split: str = ALL
    id_column: str | None = None
    """The column the keys come from (None: keys are row numbers)."""

    def __len__(self) -> int:
        return len(self.rows)

    def labels(self) -> Sequence[int | None]:
        return self.label_list

    def sample(self, index: int) -> Sample:
        label = self.label_list[index]
        row = self.rows[index]
        return Sample(
            id=f"{self.id_prefix}/{self.keys[index]}", split=self.split, label=label,
            label_name=None if label is None else self.classes[label], source=f"{self.cells.path}::{row}",
            payload=dict(self.payloads[index]),
            reader=partial(self.cells.image, row, os.path.dirname(self.cells.path), self.image_is_path),
        )


def row_payload(row: Mapping[str, Any], columns: Columns) -> dict[str, Any]:
    payload = {key: value for key, value in row.items()
               if key not in SKIPPED_FIELDS and key not in (columns.label, columns.id) and value is not None}
    if columns.caption and columns.caption != "caption" and row.get(columns.caption) is not None:
        payload["caption"] = row[columns.caption]
    return payload
