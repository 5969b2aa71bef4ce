"""A FIFO named like an image in a folder dataset or a manifest: `datasets check`, `ingest` and `embed` finish and
name it as skipped, instead of waiting for ever on its open."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from PIL import Image

from embedkit.cli import main
from tests.support.special_files import finishes, make_fifo


@pytest.fixture
def folder(tmp_path):
    for name, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), colour).save(tmp_path / "data" / name / f"{i}.png")
    make_fifo(tmp_path / "data" / "red" / "x.png")
    return tmp_path / "data"


def invoke(*args):
    return finishes(lambda: CliRunner().invoke(main, [str(arg) for arg in args]))


def test_datasets_check_and_ingest_skip_a_fifo_named_like_an_image_and_say_so(folder, tmp_path):
    checked = invoke("datasets", "check", f"folder:{folder}", "--json")
    assert checked.exit_code == 0, checked.output
    (note,) = [n for n in json.loads(checked.stdout)["notes"] if "special" in n]
    assert note.endswith("red/x.png (a FIFO)")
    ingested = invoke("ingest", f"folder:{folder}", "-e", "pixels", "--qdrant", tmp_path / "store", "--workers", "0",
                      "--json")
    assert ingested.exit_code == 0, ingested.output
    assert "red/x.png (a FIFO)" in " ".join(ingested.stderr.split())
    from embedkit.store import open_store

    with open_store(tmp_path / "store") as store:
        (info,) = store.collections()
        assert store.count(info.name) == 4


def test_embed_leaves_a_fifo_out_with_a_line_and_embeds_the_rest(folder):
    embedded = invoke("embed", folder / "red" / "x.png", folder / "red" / "0.png", "-e", "pixels")
    assert embedded.exit_code == 0, embedded.output
    document = json.loads(embedded.stdout)
    assert [item["image"] for item in document["items"]] == [str(folder / "red" / "0.png")]
    assert document["skipped"] == [{"image": str(folder / "red" / "x.png"), "kind": "a FIFO"}]
    assert f"skipped {folder / 'red' / 'x.png'}: a FIFO, not an image file" in embedded.stderr


def test_a_manifest_that_lists_a_fifo_skips_it_when_read_and_a_fifo_manifest_is_refused(folder, tmp_path):
    manifest = tmp_path / "list.csv"
    manifest.write_text("path,label\ndata/red/0.png,red\ndata/red/x.png,red\ndata/blue/0.png,blue\n")
    checked = invoke("datasets", "check", f"manifest:{manifest}", "--json")
    assert checked.exit_code == 1, checked.output  # a listed file that cannot be read, as for any unreadable image
    assert any("not regular files" in note and "data/red/x.png (a FIFO)" in note
               for note in json.loads(checked.stdout)["notes"])
    make_fifo(tmp_path / "fifo.csv")
    refused = invoke("datasets", "check", f"manifest:{tmp_path / 'fifo.csv'}")
    assert refused.exit_code != 0
    assert refused.output.strip().splitlines() == [
        f"error: manifest {tmp_path / 'fifo.csv'} is a FIFO, not a CSV file; pass manifest:FILE.csv"]
