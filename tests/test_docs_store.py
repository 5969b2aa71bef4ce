"""docs/store.md, "Reading a store without embedkit": its snippets and its claims, run against a store that
`embedkit ingest` made from (a small copy of) Fashion-MNIST with a random-weight encoder."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from qdrant_client import QdrantClient

from embedkit import get_encoder
from embedkit.cli import main
from embedkit.ingestion import ingest
from embedkit.store import open_store
from tests.support.docs import DOCS, python_block

DOC = DOCS / "store.md"
SAMPLE = "fashion-mnist/test/00003"


def with_line(code: str, pattern: str, line: str) -> str:
    """`code` with its one line matching `pattern` (from the line's start) replaced by `line`."""
    code, count = re.subn(rf"^{pattern}.*$", lambda _: line, code, flags=re.M)
    assert count == 1, f"the snippet should have one line starting {pattern!r}"
    return code


def run_snippet(code: str) -> dict:
    namespace: dict = {"__name__": "docs_snippet"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


@pytest.fixture
def fashion_store(mirror, tmp_path) -> Path:
    """An embedded store with the 6 test images of the generated Fashion-MNIST, collection fashion-mnist."""
    encoder = get_encoder("mobilenet_v2.random", image_size=64, device="cpu")
    report = ingest("fashion-mnist", encoder, store=tmp_path / "store", split="test", workers=0)
    assert (report.collection, report.stored) == ("fashion-mnist", 6)
    return tmp_path / "store"


def assert_found_itself(namespace: dict) -> None:
    assert namespace["vector"] == "mobilenet_v2.random-64px"
    hits = namespace["hits"]
    assert hits[0].payload["sample_id"] == SAMPLE and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert len(hits) == 5 and all(hit.payload["split"] == "test" for hit in hits)
    assert all("label_name" in hit.payload for hit in hits)


def test_the_qdrant_edge_snippet_reads_a_store_that_ingest_made(fashion_store, capsys):
    code = with_line(python_block(DOC, "### With Qdrant Edge"), "STORE = ", f"STORE = {str(fashion_store)!r}")
    namespace = run_snippet(code)
    assert_found_itself(namespace)
    assert "['mobilenet_v2.random-64px']" in capsys.readouterr().out
    with open_store(fashion_store) as store:  # the snippet closed its shard
        assert store.count("fashion-mnist") == 6


def test_a_copy_of_a_shard_folder_reads_while_embedkit_holds_the_store(fashion_store, tmp_path):
    copy = tmp_path / "copy"
    with open_store(fashion_store) as store:
        assert store.count("fashion-mnist") == 6
        copy.mkdir()
        subprocess.run(["cp", "-r", str(fashion_store / "fashion-mnist"), str(copy / "fashion-mnist")], check=True)
        subprocess.run(["chmod", "-R", "u+w", str(copy)], check=True)
        code = with_line(python_block(DOC, "### With Qdrant Edge"), "STORE = ", f"STORE = {str(copy)!r}")
        assert_found_itself(run_snippet(code))


def test_the_qdrant_client_snippet_reads_a_collection_pushed_to_local_mode(fashion_store, tmp_path):
    target = tmp_path / "q"
    result = CliRunner().invoke(main, ["push", "-c", "fashion-mnist", "--to", f"local:{target}",
                                       "--qdrant", str(fashion_store)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    code = with_line(python_block(DOC, "### With a Qdrant client"), "client = QdrantClient",
                     f"client = QdrantClient(path={str(target)!r})")
    namespace = run_snippet(code)
    namespace["client"].close()
    assert_found_itself(namespace)


def test_qdrant_clients_local_mode_does_not_read_an_embedded_store(fashion_store):
    """What the docs say of QdrantClient(path=STORE): no collections, and files of its own written there."""
    before = {p.name for p in fashion_store.iterdir()}
    client = QdrantClient(path=str(fashion_store))
    try:
        assert client.get_collections().collections == []
    finally:
        client.close()
    assert {p.name for p in fashion_store.iterdir()} - before == {"meta.json", ".lock"}
    with open_store(fashion_store) as store:  # embedkit still opens it
        assert [info.name for info in store.collections()] == ["fashion-mnist"]


def test_docs_store_names_the_test_that_runs_its_snippets():
    assert f"tests/{Path(__file__).name}" in DOC.read_text()
