"""parquet: reads the Parquet files img2dataset wrote (a `jpg` bytes column) and tables of image paths; columns
named by options; a truncated file is a one-line error."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from embedkit.datasets import get_dataset
from embedkit.errors import DatasetFormatError


def test_the_parquet_img2dataset_wrote_gives_the_same_samples_as_its_shards(made_shards):
    table = get_dataset(f"parquet:{made_shards.parquet}").view()
    shards = get_dataset(f"webdataset:{made_shards.webdataset}", label_field="label").view()
    assert len(table) == made_shards.count
    by_url = {sample.payload["url"]: sample for sample in shards}
    for sample in table:
        twin = by_url[sample.payload["url"]]
        assert sample.id.rsplit("/", 1)[1] == twin.id.rsplit("/", 1)[1]  # img2dataset's key in both
        assert (sample.label_name, sample.payload["caption"]) == (twin.label_name, twin.payload["caption"])
        assert sample.image().tobytes() == twin.image().tobytes()  # the same JPEG bytes


def test_a_column_of_paths_and_named_columns(made_shards, tmp_path):
    files = sorted(made_shards.images.rglob("*.png"))
    pq.write_table(pa.table({"file": [str(file.relative_to(made_shards.images)) for file in files],
                             "kind": [file.parent.name for file in files], "name": [file.stem for file in files]}),
                   tmp_path / "paths.parquet")
    shutil.copytree(made_shards.images, tmp_path, dirs_exist_ok=True)
    data = get_dataset(f"parquet:{tmp_path / 'paths.parquet'}", path_column="file", label_column="kind",
                       id_column="name")
    view = data.view()
    assert data.classes == ["circle", "square"] and len(view) == len(files)
    assert view[0].id == f"parquet/paths.parquet/{files[0].stem}" and view[0].image().size == (48, 48)


def test_a_column_that_is_not_there_is_named_with_the_columns_there_are(made_shards):
    with pytest.raises(DatasetFormatError, match="no column 'picture' .*pass label_column="):
        get_dataset(f"parquet:{made_shards.parquet}", label_column="picture")


def test_a_truncated_parquet_file_is_a_one_line_error_naming_it(made_shards, tmp_path):
    files = shutil.copytree(made_shards.parquet, tmp_path / "files")
    whole = (files / "00001.parquet").read_bytes()
    (files / "00001.parquet").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DatasetFormatError, match="00001.parquet is truncated or not a Parquet file") as error:
        get_dataset(f"parquet:{files}")
    assert "\n" not in str(error.value)
