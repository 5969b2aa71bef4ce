"""The images of a shard dataset (webdataset:, parquet:, hf: Parquet files) read on Ray by Ray Data's own readers
(`read_webdataset`, `read_parquet`), a shard per read task wherever the cluster has room, so that no one process
reads every file; each row's image is decoded by `images.load_image` into the encoder's input, next to it.

Rows are matched to the run's samples by `FILE::KEY`, the sample's source: a sample already stored (or not in
the view) is dropped before it is decoded."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from embedkit.datasets import DatasetView
from embedkit.datasets.tables import TablePart
from embedkit.datasets.webdataset import IMAGE_EXTENSIONS, TarPart
from embedkit.images import ImageBytes, ReadOptions
from embedkit.ingestion.inputs import encoder_input

PATH = "path"
"""The column Ray's readers name each row's file in (`include_paths=True`)."""


@dataclass(frozen=True)
class ShardFiles:
    """What Ray's reader is given: the kind of reader, the files holding samples to encode, and the columns."""

    reader: str
    """webdataset or parquet."""
    files: list[str]
    image_column: str | None = None
    key_column: str | None = None


def files_of(view: DatasetView, todo: list[int]) -> list[str]:
    """The files that hold a sample to encode (a shard whose samples are all stored is not read again)."""
    return sorted({view[index].source.rsplit("::", 1)[0] for index in todo})


def shard_files(view: DatasetView, todo: list[int]) -> ShardFiles | None:
    """The shard files a Ray reader reads for these samples, or None when the view is not of shards Ray reads
    (loose files, arrays, Arrow files saved by `datasets`, Parquet without a key column): those are read by
    position, as before."""
    parts = view.parts
    if parts and all(isinstance(part, TarPart) for part in parts):
        return ShardFiles("webdataset", files_of(view, todo))
    if parts and all(isinstance(part, TablePart) and not part.cells.arrow and not part.image_is_path
                     and part.id_column for part in parts):
        columns = {(part.cells.column, part.id_column) for part in parts}  # type: ignore[union-attr]
        if len(columns) != 1:
            return None
        (image, key), = columns
        return ShardFiles("parquet", files_of(view, todo), image, key)
    return None


def row_positions(view: DatasetView, todo: list[int]) -> dict[str, int]:
    """`FILE::KEY` of each sample to encode (as Ray's readers name its row), to its index in the view."""
    wanted = set(todo)
    positions: dict[str, int] = {}
    start = 0
    for part in view.parts:
        file = part.shard if isinstance(part, TarPart) else part.cells.path  # type: ignore[attr-defined]
        for local, key in enumerate(part.keys):  # type: ignore[attr-defined]
            if start + local in wanted:
                positions[f"{file}::{key}"] = start + local
        start += len(part)
    return positions


def read_shards(ray: Any, shards: ShardFiles, num_cpus: float) -> Any:
    """A Ray Dataset of the shards' rows: a read task per shard, each row with its file (`path`). The read asks
    for the CPUs the decoding does, so that Ray fuses the two into one task: a shard's bytes are decoded where
    they were read."""
    if shards.reader == "webdataset":
        return ray.data.read_webdataset(shards.files, decoder=None, include_paths=True, num_cpus=num_cpus,
                                        suffixes=list(IMAGE_EXTENSIONS), override_num_blocks=len(shards.files))
    return ray.data.read_parquet(shards.files, columns=[shards.key_column, shards.image_column], num_cpus=num_cpus,
                                 include_paths=True, override_num_blocks=len(shards.files))


class DecodeRows:
    """A Ray Data task: the rows that are samples to encode, decoded and preprocessed (an unreadable image comes
    back with its reason), with their payloads; the other rows are dropped."""

    def __init__(self, view: DatasetView, todo: list[int], shards: ShardFiles,
                 preprocess: Callable[[Any], Any], reading: ReadOptions):
        self.view, self.preprocess, self.reading, self.shards = view, preprocess, reading, shards
        self.positions = row_positions(view, todo)
        self.shape = tuple(preprocess(Image.new("RGB", (64, 48))).shape)  # empty batches keep the same shape

    def image(self, batch: Mapping[str, np.ndarray], row: int) -> Any:
        if self.shards.image_column is not None:
            return batch[self.shards.image_column][row]
        return next((batch[ext][row] for ext in IMAGE_EXTENSIONS if ext in batch and batch[ext][row] is not None),
                    None)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        key_column = self.shards.key_column or "__key__"
        items = []
        for row, (path, key) in enumerate(zip(batch[PATH], batch[key_column])):
            source = f"{path}::{key}"
            index = self.positions.get(source)
            if index is None:
                continue
            data = self.image(batch, row)
            if isinstance(data, Mapping):  # Hugging Face's Image feature
                data = data.get("bytes")
            sample = self.view[index]
            if data is not None:  # the bytes Ray read, not read again
                sample = dataclasses.replace(sample, reader=lambda data=bytes(data), name=source: ImageBytes(data, name))
            items.append(encoder_input(self.view, sample, self.preprocess, self.reading))
        pixels = np.zeros((len(items), *self.shape), dtype=np.float32)
        for row, (_, tensor, _) in enumerate(items):
            if tensor is not None:
                pixels[row] = tensor.numpy()
        return {"record": np.array([json.dumps(record) for record, _, _ in items], dtype=object),
                "error": np.array([error or "" for _, _, error in items], dtype=object), "pixels": pixels}
