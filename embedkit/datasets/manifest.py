"""`manifest:FILE.csv`: a CSV listing image paths (relative to it), labels, and anything else."""

from __future__ import annotations

import csv
import os
from pathlib import Path, PurePosixPath

from embedkit.datasets.base import ALL, Dataset, SampleSource
from embedkit.datasets.files import FilePart
from embedkit.errors import DatasetFormatError, DatasetUnavailableError, InvalidOptionError
from embedkit.special_files import open_regular, special_kind


class ManifestDataset(Dataset):
    """One row per image: `path` (relative to the CSV, or absolute), `label` (optional; empty for
    unlabelled) and `split` (optional) columns; every other column goes into the sample's payload.
    Ids are `manifest/<path as written>`."""

    def __init__(
        self,
        file: str,
        path_column: str = "path",
        label_column: str = "label",
        split_column: str = "split",
    ):
        super().__init__()
        if not file:
            raise InvalidOptionError("manifest: needs a CSV file, e.g. manifest:images.csv")
        self.file = Path(file).expanduser().resolve()  # sources stored absolute: readable from anywhere
        self.name = f"manifest:{self.file}"
        kind = special_kind(self.file)
        if kind is not None:
            raise DatasetFormatError(f"manifest {self.file} is {kind}, not a CSV file; pass manifest:FILE.csv")
        if not self.file.is_file():
            raise DatasetUnavailableError(f"manifest {self.file} does not exist; pass manifest:FILE.csv")
        try:
            with open_regular(self.file, newline="", encoding="utf-8-sig") as stream:
                reader = csv.DictReader(stream)
                columns = list(reader.fieldnames or [])
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise DatasetFormatError(f"cannot read manifest {self.file} ({error}); save it as UTF-8 CSV") from error
        if path_column not in columns:
            raise DatasetFormatError(f"manifest {self.file} has no {path_column!r} column (it has "
                                     f"{', '.join(columns) or 'no header'}); name the image path column "
                                     f"{path_column!r} or pass path_column=")
        extra = [c for c in columns if c not in (path_column, label_column, split_column)]
        self.classes = sorted({row[label_column] for row in rows if row.get(label_column)})
        index = {name: i for i, name in enumerate(self.classes)}
        by_split: dict[str, tuple[list[str], list[int | None], list[dict], list[str]]] = {}
        seen: dict[str, int] = {}
        missing = 0
        special: list[str] = []
        for number, row in enumerate(rows, start=2):
            path = (row.get(path_column) or "").strip()
            if not path:
                raise DatasetFormatError(f"manifest {self.file} line {number} has an empty {path_column!r}")
            if path in seen:
                raise DatasetFormatError(f"manifest {self.file} lists {path!r} on lines {seen[path]} and {number}; "
                                         f"each image once")
            seen[path] = number
            missing += not os.path.exists(self.file.parent / path)
            if (kind := special_kind(self.file.parent / path)) is not None:
                special.append(f"{path} ({kind})")
            split = row.get(split_column) or ALL
            paths, labels, payloads, ids = by_split.setdefault(split, ([], [], [], []))
            paths.append(path)
            labels.append(index[row[label_column]] if row.get(label_column) else None)
            payloads.append({column: row.get(column) for column in extra})
            ids.append(f"manifest/{PurePosixPath(path).as_posix().lstrip('/')}")
        if not rows:
            raise DatasetFormatError(f"manifest {self.file} lists no images")
        if missing:
            self.notes.append(f"{missing} path(s) in {self.file} do not exist; they will be reported when read")
        if special:
            self.notes.append(f"{len(special)} path(s) in {self.file} are not regular files and are skipped when "
                              f"read: {', '.join(special[:5])}{', ...' if len(special) > 5 else ''}")
        self.splits = tuple(by_split)
        self._parts = [FilePart("manifest", split, str(self.file.parent), paths, labels, self.classes, payloads, ids)
                       for split, (paths, labels, payloads, ids) in by_split.items()]

    def parts(self) -> list[SampleSource]:
        return self._parts

    def identity(self) -> str:
        return f"manifest:{self.file}"

    def source_description(self) -> str:
        return f"manifest {self.file} ({sum(len(p) for p in self._parts)} rows)"
