"""`embedkit duplicates`: the report of the Python API as a table or JSON, group PNGs, marks, one-line errors."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from embedkit.analysis.duplicates import find_duplicates
from embedkit.cli import main
from embedkit.ingestion import ingest
from embedkit.store import open_store
from tests.support.duplicates import make_dataset
from tests.support.manifests import CountingEncoder


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("duplicates-cli")
    ingest(f"manifest:{make_dataset(root / 'data')}", CountingEncoder("thumb", side=8), store=root / "store",
           collection="shots", workers=0)
    ingest(f"manifest:{root / 'data' / 'list.csv'}", CountingEncoder("colour"), store=root / "store",
           collection="shots", workers=0)
    return root / "store"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=True)


def one_error_line(result: Result, exit_code: int = 2) -> str:
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    assert escaped is None and "Traceback" not in result.output, result.output
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def test_the_json_report_is_the_python_apis_and_no_encoder_is_built(store_path, monkeypatch):
    import embedkit.encoders

    def no_encoder(*args, **kwargs):
        raise AssertionError("duplicates must not build an encoder")

    monkeypatch.setattr(embedkit.encoders, "get_encoder", no_encoder)
    result = invoke("duplicates", "-c", "shots", "-e", "thumb.v1", "--qdrant", store_path, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    expected = find_duplicates(store_path, "shots", vector="thumb.v1")
    assert [[m["sample_id"] for m in g["members"]] for g in document["groups"]] == \
        [[m.sample_id for m in g.members] for g in expected.groups]
    assert document["leaks_count"] == len(expected.leaks) == 1 and document["label_conflicts_count"] == 1
    assert document["vector"] == "thumb.v1" and document["threshold"] == 0.95 and document["points"] == 48
    assert {"similarity", "split", "label_name", "source"} <= set(document["groups"][0]["members"][0])


def test_without_encoder_the_collections_default_vector_is_searched(store_path):
    result = invoke("duplicates", "-c", "shots", "--qdrant", store_path, "--json")
    assert json.loads(result.stdout)["vector"] == "thumb.v1"  # the first one ingested
    colour = invoke("duplicates", "-c", "shots", "-e", "colour.v1", "--qdrant", store_path, "--json")
    assert json.loads(colour.stdout)["vector"] == "colour.v1"


def test_the_table_goes_to_stderr_with_the_leaks_and_a_summary(store_path):
    result = invoke("duplicates", "-c", "shots", "-e", "thumb.v1", "--qdrant", store_path)
    assert result.exit_code == 0 and result.stdout == "", result.output
    assert "near-duplicate groups" in result.stderr and "test-copy-of-train-cat-0.png" in result.stderr
    assert "(conflict)" in result.stderr and "7 near-duplicate pairs; 5 groups, 6 images could go" in result.stderr
    assert "leaks (test images with a near-duplicate in train): 1" in result.stderr


def test_a_png_per_group_is_written_up_to_the_cap(store_path, tmp_path):
    out = tmp_path / "grids"
    result = invoke("duplicates", "-c", "shots", "-e", "thumb.v1", "--qdrant", store_path, "--out-dir", out,
                    "--grids", 3, "--json")
    assert result.exit_code == 0, result.output
    written = sorted(out.iterdir())
    assert [p.name for p in written] == ["group-0001.png", "group-0002.png", "group-0003.png"]
    assert json.loads(result.stdout)["grids"] == [str(p) for p in written]
    with Image.open(written[0]) as grid:  # group 1 is the chain of three edits: three cells of 160 px
        assert grid.width == 3 * 160 and grid.height > 160
        assert len(grid.convert("L").getcolors(65536)) > 10  # images drawn, not "no image" boxes
    leaks = tmp_path / "leaks"
    invoke("duplicates", "-c", "shots", "-e", "thumb.v1", "--qdrant", store_path, "--out-dir", leaks, "--leaks")
    assert [p.name for p in leaks.iterdir()] == ["group-0001.png"]
    none = invoke("duplicates", "-c", "shots", "-e", "thumb.v1", "--qdrant", store_path, "--leaks", "--train-split",
                  "nosuch", "--out-dir", tmp_path / "none")
    assert none.exit_code == 0 and "0 groups hold a leak" in none.stderr  # an empty folder is explained
    assert f"no groups: no PNG written to {tmp_path / 'none'}" in none.stderr


def test_mark_writes_payload_fields_and_a_stricter_rerun_removes_them(store_path, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)

    def marked() -> set[str]:
        with open_store(copy) as store:
            return {i for ids, _, payloads in store.iter_points("shots", ["thumb.v1"]) for i, p in zip(ids, payloads)
                    if "duplicate_group" in p}

    first = invoke("duplicates", "-c", "shots", "-e", "thumb.v1", "--qdrant", copy, "--mark", "--json")
    assert json.loads(first.stdout)["marked"] == 11 and len(marked()) == 11
    second = invoke("duplicates", "-c", "shots", "-e", "thumb.v1", "--qdrant", copy, "--mark", "--threshold", 0.9999)
    assert "removed the marks of 5 points no longer grouped" in second.stderr, second.output  # chain, brightened
    assert len(marked()) == 6


@pytest.mark.parametrize(("args", "says"), [
    (["-c", "nope"], "collection 'nope' does not exist"),
    (["-c", "shots", "-e", "resnet50"], "has no vector 'resnet50' (it has: colour.v1, thumb.v1)"),
    (["-c", "shots", "--threshold", "0"], "is not in the range 0<x<=1"),
    (["-c", "shots", "--threshold", "1.5"], "is not in the range 0<x<=1"),
    (["-c", "shots", "--threshold", "high"], "is not a valid number"),
    (["-c", "shots", "-k", "0"], "is not in the range 1<=x<=1000"),
    (["-c", "shots", "--grids", "99999999999"], "is not in the range 0<=x<=10000"),
    (["-c", "shots", "-e", "thumb.v1", "--split", "test", "--leaks"], "leave out the split"),
])
def test_a_bad_call_is_one_error_line(store_path, args, says):
    assert says in one_error_line(invoke("duplicates", *args, "--qdrant", store_path))


def test_an_out_folder_that_is_a_file_is_refused_before_the_search(store_path, tmp_path):
    (tmp_path / "file").write_text("x")
    error = one_error_line(invoke("duplicates", "-c", "shots", "--out-dir", tmp_path / "file", "--qdrant", store_path))
    assert "is a file" in error


def test_a_collection_without_points_is_refused_in_one_line_as_map_and_cluster_refuse_it(tmp_path):
    from embedkit.records import VectorRecord

    with open_store(tmp_path / "store") as store:
        store.ensure_vector("empty", "enc", VectorRecord("enc", 4, "image"))
    out = tmp_path / "groups"
    error = one_error_line(invoke("duplicates", "-c", "empty", "--out-dir", out, "--qdrant", tmp_path / "store"))
    assert "no stored vectors in 'empty'/'enc'; ingest the dataset first" in error
    assert not out.exists() or not any(out.iterdir())
