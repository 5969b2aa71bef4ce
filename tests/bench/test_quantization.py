"""Bench's quantization figures: recall@10 is the overlap of the store's top 10 with the exact top 10, bytes per
point come from the segment files, and the kinds are checked."""

from __future__ import annotations

import numpy as np
import pytest

from click.testing import CliRunner
from rich.console import Console

from embedkit.bench.protocols import make_task
from embedkit.bench.quantization import evaluate_quantizations, parse_quantizations, stored_bytes
from embedkit.bench.run import evaluate
from embedkit.cli import main
from embedkit.cli.bench import render_quantization
from embedkit.errors import InvalidOptionError
from embedkit.store import open_store
from tests.bench.test_run import clustered, fill


def test_the_quantized_recall_figure_is_the_overlap_with_an_exact_top_10():
    store = open_store(":memory:")
    vectors, labels = clustered(n=60, dim=8, classes=3)
    fill(store, vectors, labels)
    task = make_task(store, "c", "v", "leave-one-out", queries=12, seed=1)
    top = evaluate(task, 0)[4]
    found: dict = {}
    measured = evaluate_quantizations(task, ("binary",), top, found)
    assert set(measured) == {"binary"}
    assert set(measured["binary"]["searches"]) == {"no rescore", "rescore", "rescore, oversampling 3"}
    # the exact top 10 of each query computed here, independently of bench's ranking
    gallery = np.asarray(task.gallery.vectors, dtype=np.float64)
    for (kind, search), ids in found.items():
        overlaps = []
        for query, own, store_ids in zip(task.queries.vectors, task.query_positions, ids):
            scores = gallery @ query
            scores[own] = -np.inf
            exact = {task.gallery.ids[i] for i in np.argsort(-scores, kind="stable")[:10]}
            overlaps.append(len(exact & set(store_ids)) / 10)
        assert measured[kind]["searches"][search]["recall@10_vs_exact"] == pytest.approx(np.mean(overlaps))
    # 60 points of 8 floats: under Qdrant's indexing threshold, neither indexed nor quantized, and said so
    assert measured["binary"]["quantized_built"] is False
    console = Console(record=True, width=200)
    render_quantization([{"dataset": "d", "encoder": "e", "quantization": measured}], console)
    text = console.export_text()
    assert "rescore, oversampling 3" in text and "not indexed nor quantized" in text


def test_an_unknown_kind_is_refused_in_one_line_before_anything_is_encoded(tmp_path):
    outcome = CliRunner().invoke(main, ["bench", "-d", "folder:/nonexistent", "--quantization", "turbo",
                                        "--qdrant", str(tmp_path / "store"), "--out", str(tmp_path / "out")])
    assert outcome.exit_code != 0 and "unknown quantization turbo" in outcome.output
    assert not (tmp_path / "store").exists()


def test_bytes_per_point_are_read_from_the_indexed_segments_files(tmp_path):
    segment = tmp_path / "segments" / "one"
    for path, size in (("vector_storage-v/matrix.dat", 4000), ("vector_storage-v/quantized.data", 1000),
                       ("vector_index-v/links_compressed.bin", 300), ("vector_index-v/graph.bin", 100),
                       ("payload_storage/page_0.dat", 99999)):
        (segment / path).parent.mkdir(parents=True, exist_ok=True)
        (segment / path).write_bytes(b"\0" * size)
    sizes = stored_bytes(tmp_path, 10)
    assert sizes == {"vectors_bytes_per_point": 400.0, "quantized_bytes_per_point": 100.0,
                     "hnsw_bytes_per_point": 40.0, "quantized_built": True, "indexed": True}


def test_the_kinds_are_checked_and_none_is_always_measured():
    assert parse_quantizations("binary,scalar") == ("none", "scalar", "binary")
    with pytest.raises(InvalidOptionError, match="unknown quantization turbo; use any of none, scalar, binary, product"):
        parse_quantizations("turbo")
