"""Export writes a file whole or not at all: a failed write leaves nothing behind and keeps the file of that
name from before."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.records import VectorRecord
from embedkit.store import export, open_store


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npy"])
def test_an_export_that_fills_the_disk_leaves_nothing_and_keeps_the_earlier_file(tmp_path, monkeypatch, suffix):
    with open_store(tmp_path / "store") as store:
        store.ensure_vector("toy", "enc", VectorRecord("enc", 4, "image", weights="w"))
        store.upsert("toy", "enc", [f"s{i}" for i in range(50)], np.ones((50, 4), np.float32), [{"label": 1}] * 50)
    earlier = tmp_path / f"out{suffix}"
    earlier.write_text("an earlier export")
    real_write = export._write

    def fill_the_disk(paths, *args):
        real_write(paths, *args)  # written out, then the disk is full (as a close that flushes the last block)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export, "_write", fill_the_disk)
    result = CliRunner().invoke(main, ["export", "-c", "toy", "-o", str(earlier), "--qdrant", str(tmp_path / "store")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write {earlier} (No space left on device); nothing was written")
    assert earlier.read_text() == "an earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out" + suffix, "store"]  # no partial file left
    monkeypatch.setattr(export, "_write", real_write)
    assert CliRunner().invoke(main, ["export", "-c", "toy", "-o", str(earlier), "--qdrant",
                                     str(tmp_path / "store")]).exit_code == 0
    assert earlier.read_bytes() != b"an earlier export"


def _toy_with_labels(tmp_path, labels):
    with open_store(tmp_path / "store") as store:
        store.ensure_vector("toy", "enc", VectorRecord("enc", 4, "image", weights="w"))
        vectors = np.random.default_rng(0).standard_normal((len(labels), 4)).astype(np.float32)
        store.upsert("toy", "enc", [f"s{i}" for i in range(len(labels))], vectors,
                     [{"label_name": name} for name in labels])
    return vectors


def _read_csv(path):
    import csv

    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


FORMULAS = ["=cmd|' /C calc'!A0", "@SUM(A1)", "+SUM(1,1)", "-2+3", "\tTAB", "\rCR"]


def test_a_csv_export_writes_formulas_as_text_and_csv_raw_writes_them_as_stored(tmp_path):
    _toy_with_labels(tmp_path, [*FORMULAS, "cat"])
    out = tmp_path / "out.csv"
    store_args = ["--qdrant", str(tmp_path / "store")]
    assert CliRunner().invoke(main, ["export", "-c", "toy", "-o", str(out), *store_args]).exit_code == 0
    names = [row["label_name"] for row in _read_csv(out)]
    assert names == ["'" + f for f in FORMULAS] + ["cat"]
    assert CliRunner().invoke(main, ["export", "-c", "toy", "-o", str(out), "--csv-raw", *store_args]).exit_code == 0
    assert [row["label_name"] for row in _read_csv(out)] == [*FORMULAS, "cat"]


def test_a_csv_export_reads_back_float32_vectors_exactly(tmp_path):
    _toy_with_labels(tmp_path, ["a"] * 40)
    with open_store(tmp_path / "store") as store:
        export.export(store, "toy", ["enc"], tmp_path / "out.csv")
    rows = _read_csv(tmp_path / "out.csv")
    read = np.array([[float(row[f"enc_{i}"]) for i in range(4)] for row in rows], np.float32)
    with open_store(tmp_path / "store") as store:  # stored (normalised) vectors, in sample-id order
        (_, stored, _), = list(store.iter_points("toy", ["enc"]))
    assert read.shape == (40, 4) and np.array_equal(np.sort(read, axis=0), np.sort(stored["enc"], axis=0))


def test_export_and_push_report_the_points_they_read_of_the_total(tmp_path):
    from embedkit.store.export import export as export_points
    from embedkit.store.push import push

    with open_store(tmp_path / "store") as store, open_store(tmp_path / "copy") as copy:
        store.ensure_vector("toy", "enc", VectorRecord("enc", 4, "image", weights="w"))
        store.upsert("toy", "enc", [f"s{i}" for i in range(50)], np.ones((50, 4), np.float32), [{"label": 1}] * 50)
        heard = []
        assert export_points(store, "toy", ["enc"], tmp_path / "out.npy", progress=heard.append) == 50
        reading = [(p.done, p.total) for p in heard if p.stage == "reading"]
        assert reading[0] == (0, 50) and reading[-1] == (50, 50) and heard[-1].stage == "writing out.npy"
        heard.clear()
        push(store, copy, "toy", batch_size=20, progress=heard.append)
        assert [(p.stage, p.done, p.total) for p in heard] == [("enc", n, 50) for n in (0, 20, 40, 50)]
