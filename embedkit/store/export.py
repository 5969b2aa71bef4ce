"""Vectors and payloads of a collection out to Parquet, CSV (the classic embeddings.csv) or .npy."""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embedkit.errors import InvalidOptionError, OutputWriteError, first_line
from embedkit.progress import ProgressListener, tell
from embedkit.store import Store

FORMATS = (".parquet", ".csv", ".npy")
PAYLOAD_COLUMNS = ("sample_id", "dataset", "split", "label", "label_name", "source")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's CSV injection list: what a spreadsheet evaluates


def export(store: Store, collection: str, vector_names: Sequence[str], path: str | Path,
           progress: ProgressListener | None = None, *, csv_raw: bool = False) -> int:
    """Write every point that has all `vector_names` to `path`, in sample-id order (for the built-in datasets,
    their own order); the suffix picks the format. Returns the count.

    - `.parquet`: payload columns, then one list<float32> column per vector name;
    - `.csv`: payload columns, then `<vector>_0 … <vector>_{dim-1}` for each vector (9 significant digits, so
      float32 reads back exactly); a text cell that a spreadsheet would take as a formula (a leading `=`, `+`,
      `-`, `@`, tab or CR) is written with a `'` before it, unless `csv_raw`;
    - `.npy`: the (n, dim) float32 array of one vector name, with the payloads in order in
      `<path>.payload.jsonl` beside it.

    `progress` hears the points read, then the writing of the file.
    """
    path = Path(path)
    if path.suffix not in FORMATS:
        raise InvalidOptionError(f"cannot export to {path.name!r}; name a .parquet, .csv or .npy file")
    if path.suffix == ".npy" and len(vector_names) != 1:
        raise InvalidOptionError(".npy holds one vector name; pass exactly one --encoder, or export to .parquet")
    ids: list[str] = []
    payloads: list[dict] = []
    parts: dict[str, list[np.ndarray]] = {name: [] for name in vector_names}
    total = store.count(collection, vector_names[0]) if len(vector_names) == 1 else None
    tell(progress, "reading", 0, total, "points")
    for batch_ids, arrays, batch_payloads in store.iter_points(collection, list(vector_names)):
        ids.extend(batch_ids)
        tell(progress, "reading", len(ids), total, "points")
        payloads.extend(batch_payloads)
        for name in vector_names:
            parts[name].append(arrays[name])
    order = sorted(range(len(ids)), key=ids.__getitem__)  # the dataset's order, not the store's (point ids)
    ids, payloads = [ids[i] for i in order], [payloads[i] for i in order]
    vectors = {name: np.concatenate(chunks)[order] if chunks else np.zeros((0, 0), np.float32)
               for name, chunks in parts.items()}
    extra = sorted({key for p in payloads for key in p} - set(PAYLOAD_COLUMNS))
    columns = [*PAYLOAD_COLUMNS, *extra]
    table = {column: [p.get(column) for p in payloads] for column in columns}
    table["sample_id"] = ids
    targets = [path, Path(f"{path}.payload.jsonl")] if path.suffix == ".npy" else [path]
    partial = [target.with_name(f".{target.name}.partial") for target in targets]
    tell(progress, f"writing {path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".csv" and not csv_raw:
            table = {column: [escape_formula(value) for value in values] for column, values in table.items()}
        _write(partial, path.suffix, ids, columns, table, vectors, payloads)
        for written, target in zip(partial, targets):
            os.replace(written, target)
    except BaseException as error:  # a full disk, or Ctrl-C during a long write: no partial file stays
        for written in partial:
            with contextlib.suppress(OSError):  # never written, or its folder is not one
                written.unlink()
        if not isinstance(error, OSError):
            raise
        remedy = "free some space there, or export elsewhere (-o)" if error.errno in (errno.ENOSPC, errno.EDQUOT) \
            else "export elsewhere (-o)"
        raise OutputWriteError(f"cannot write {path} ({error.strerror or first_line(error)}); nothing was written: "
                               f"{remedy}") from error
    return len(ids)


def escape_formula(value: object) -> object:
    """`value`, with a `'` before it when it is text that a spreadsheet would evaluate as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _write(paths: list[Path], suffix: str, ids: list[str], columns: list[str], table: dict[str, list],
           vectors: dict[str, np.ndarray], payloads: list[dict]) -> None:
    """The export in format `suffix` at `paths[0]` (.npy: its payloads at `paths[1]`)."""
    path = paths[0]
    if suffix == ".npy":
        with open(path, "wb") as handle:
            np.save(handle, next(iter(vectors.values())))
        with open(paths[1], "w") as handle:
            for payload in payloads:
                handle.write(json.dumps(payload) + "\n")
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrow = {column: pa.array(values) for column, values in table.items()}
        for name, array in vectors.items():
            arrow[name] = pa.array(list(array), type=pa.list_(pa.float32()))
        pq.write_table(pa.table(arrow), path)
    else:
        import csv

        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            header = list(columns)
            for name, array in vectors.items():
                header += [f"{name}_{i}" for i in range(array.shape[1])]
            writer.writerow(header)
            for row in range(len(ids)):
                values = [table[column][row] for column in columns]
                for array in vectors.values():
                    values += [f"{x:.9g}" for x in array[row]]
                writer.writerow(values)
