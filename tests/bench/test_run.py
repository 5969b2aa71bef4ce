"""`bench`: protocols, exact vs store ranking, provenance files, reports, and clear errors on bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import average_precision_score

from embedkit.bench import BuildSpec, QuerySpec, bench
from embedkit.bench.protocols import make_task
from embedkit.bench.ranking import exact_ranking, top_k
from embedkit.cli import main
from embedkit.errors import InvalidOptionError
from embedkit.store import open_store
from embedkit.records import VectorRecord
from tests.support.photos import PER_CLASS, make_photo_folder


def fill(store, vectors, labels, splits=None, collection="c"):
    store.ensure_vector(collection, "v", VectorRecord("test.v1", vectors.shape[1]))
    ids = [f"s{i:03d}" for i in range(len(vectors))]
    payloads = [{"label": None if label is None else int(label), "label_name": None if label is None else f"class{label}",
                 "split": "train" if splits is None else splits[i]} for i, label in enumerate(labels)]
    store.upsert(collection, "v", ids, vectors.astype(np.float32), payloads)
    return ids


def clustered(n=60, dim=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    centres = rng.standard_normal((classes, dim)) * 3
    vectors = centres[labels] + rng.standard_normal((n, dim))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), labels


def test_exact_leave_one_out_ap_matches_scikit_learn_per_query():
    vectors, labels = clustered()
    ranking = exact_ranking(vectors, labels, vectors, labels, query_positions=np.arange(len(vectors)))
    for q in (0, 7, 31):
        others = np.delete(np.arange(len(vectors)), q)
        expected = average_precision_score(labels[others] == labels[q], vectors[others] @ vectors[q])
        ours = np.mean(np.arange(1, len(ranking.ranks[q]) + 1) / ranking.ranks[q])
        assert ours == pytest.approx(expected, abs=1e-6)
    assert q not in ranking.top[q]  # a query never retrieves itself


def test_chunking_does_not_change_the_ranks():
    vectors, labels = clustered(n=50)
    a = exact_ranking(vectors, labels, vectors, labels, np.arange(50), chunk=7)
    b = exact_ranking(vectors, labels, vectors, labels, np.arange(50), chunk=500)
    assert all(np.array_equal(x, y) for x, y in zip(a.ranks, b.ranks))
    np.testing.assert_array_equal(a.top, b.top)


def test_top_k_orders_by_score_then_index():
    scores = np.array([[0.1, 0.9, 0.5, 0.9, 0.2]])
    assert top_k(scores, 3).tolist() == [[1, 3, 2]]


def test_bad_input_gets_a_clear_error():
    store = open_store(":memory:")
    vectors, labels = clustered(n=12)
    fill(store, vectors, labels)
    with pytest.raises(InvalidOptionError, match="larger than the gallery"):
        make_task(store, "c", "v", "leave-one-out", k=12)
    with pytest.raises(InvalidOptionError, match="no stored vectors"):
        make_task(store, "c", "v", "leave-one-out", split="validation")
    with pytest.raises(InvalidOptionError, match="unknown protocol"):
        make_task(store, "c", "v", "round-robin")
    with pytest.raises(InvalidOptionError, match="--query-split and --gallery-split"):
        make_task(store, "c", "v", "split")

    one_class = open_store(":memory:")
    fill(one_class, vectors, [0] * 12)
    with pytest.raises(InvalidOptionError, match="single class"):
        make_task(one_class, "c", "v", "leave-one-out", k=5)

    unlabelled = open_store(":memory:")
    fill(unlabelled, vectors, [None, *labels[1:].tolist()])
    with pytest.raises(InvalidOptionError, match="have no label"):
        make_task(unlabelled, "c", "v", "leave-one-out", k=5)

    broken = open_store(":memory:")
    zero = vectors.copy()
    zero[3] = 0
    fill(broken, zero, labels)
    with pytest.raises(InvalidOptionError, match="zero or NaN.*s003"):
        make_task(broken, "c", "v", "leave-one-out", k=5)


def test_queries_are_sampled_reproducibly_and_splits_query_each_other():
    store = open_store(":memory:")
    vectors, labels = clustered(n=40)
    fill(store, vectors, labels, splits=["test" if i % 4 == 0 else "train" for i in range(40)])
    first = make_task(store, "c", "v", "leave-one-out", split="train", queries=10, seed=3)
    second = make_task(store, "c", "v", "leave-one-out", split="train", queries=10, seed=3)
    assert first.queries.ids == second.queries.ids and len(first.queries.ids) == 10
    assert [first.gallery.ids[i] for i in first.query_positions] == first.queries.ids
    task = make_task(store, "c", "v", "split", query_split="test", gallery_split="train")
    assert len(task.queries.ids) == 10 and len(task.gallery.ids) == 30 and task.query_positions is None
    assert set(task.queries.ids).isdisjoint(task.gallery.ids)
    assert set(task.queries.splits) == {"test"} and set(first.queries.splits) == {"train"}  # the tasks name them


@pytest.fixture(scope="module")
def folder(tmp_path_factory, photos):
    return make_photo_folder(tmp_path_factory.mktemp("bench") / "photos", photos, corrupt=False)


def test_bench_writes_provenance_and_reuses_stored_vectors(folder, tmp_path):
    store = tmp_path / "store"
    kwargs = dict(store=str(store), out_dir=tmp_path / "out", image_size=32, build=BuildSpec(workers=0),
                  query=QuerySpec(through_store=True))
    results, failures = bench([f"folder:{folder}"], ["mobilenet_v2.random"], **kwargs)
    assert failures == []
    (result,) = results
    assert result.encoder == "mobilenet_v2.random-32px" and result.queries == 2 * PER_CLASS
    assert result.provenance["encoded_this_run"] == 2 * PER_CLASS and result.images_per_second > 0
    for key in ("embedkit_version", "encoder", "dataset", "protocol", "seed", "device", "precision", "wall_seconds",
                "git_commit"):
        assert key in result.provenance
    assert result.provenance["dataset"]["count"] == 2 * PER_CLASS
    assert len(result.provenance["dataset"]["content_hash"][0]) >= 16
    assert 0 <= result.random_expected["map@5"] < result.metrics["p@1"] + 1
    assert result.store["recall@10_vs_exact"] == pytest.approx(1.0)
    written = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert written["metrics"] == result.metrics
    assert "random (expected)" in (tmp_path / "out" / "summary.md").read_text()

    again, _ = bench([f"folder:{folder}"], ["mobilenet_v2.random"], **kwargs)
    assert again[0].provenance["encoded_this_run"] == 0
    assert again[0].metrics == result.metrics


def test_bench_tells_its_progress_callback_how_the_encoding_of_each_pair_goes(folder, tmp_path):
    heard = []
    bench([f"folder:{folder}"], ["mobilenet_v2.random"], store=str(tmp_path / "store"), out_dir=None, image_size=32,
          build=BuildSpec(workers=0), limit=10, progress=lambda *args: heard.append(args))
    assert {args[:3] for args in heard} == {(f"folder:{folder}", "mobilenet_v2.random-32px", None)}
    last = heard[-1][3]
    assert (last.to_encode, last.encoded) == (10, 10)


def test_bench_tells_each_measuring_stage_after_the_encoding_with_its_counts(folder, tmp_path):
    heard = []
    query = QuerySpec(through_store=True, tasks=("retrieval", "knn"), reranks=("aqe",), quantizations=("scalar",))
    bench([f"folder:{folder}"], ["mobilenet_v2.random"], store=str(tmp_path / "store"), out_dir=None, image_size=32,
          build=BuildSpec(workers=0), query=query, measuring=heard.append)
    pair = "measuring mobilenet_v2.random-32px, " + f"folder:{folder}: "
    assert all(p.stage.startswith(pair) for p in heard)
    stages = list(dict.fromkeys(p.stage[len(pair):] for p in heard))
    assert stages == ["exact ranking", "task knn", "re-ranking none: ranking", "re-ranking aqe: ranking",
                      "quantization none: storing the gallery",
                      "quantization none: building the index and the quantized vectors",
                      "quantization none: as stored: searching the store",
                      "quantization scalar: storing the gallery",
                      "quantization scalar: building the index and the quantized vectors",
                      "quantization scalar: no rescore: searching the store",
                      "quantization scalar: rescore: searching the store",
                      "quantization scalar: rescore, oversampling 3: searching the store",
                      "searching the store"]
    queries = 2 * PER_CLASS
    for stage in stages:  # each counted stage ends at its total
        last = [p for p in heard if p.stage == pair + stage][-1]
        assert last.total is None or last.done == last.total == (queries if last.unit == "queries" else last.total)


def test_a_pair_that_cannot_run_is_reported_and_the_others_go_on(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    results, failures = bench([f"folder:{folder}"], ["resnet50", "mobilenet_v2.random"], store=str(tmp_path / "s"),
                              out_dir=None, image_size=32, build=BuildSpec(workers=0))
    assert [r.encoder for r in results] == ["mobilenet_v2.random-32px"]
    assert failures[0].encoder == "resnet50" and "NAME.random" in failures[0].error


def test_cli_bench_prints_the_table_and_report_rebuilds_it_with_a_plot(folder, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["bench", "--datasets", f"folder:{folder}", "--encoders", "mobilenet_v2.random",
                                  "--qdrant", str(tmp_path / "store"), "--out-dir", str(out), "--workers", "0",
                                  "--queries", "5", "--rerank", "aqe,k-reciprocal"])
    assert result.exit_code == 0, result.output
    assert "mobilenet_v2.random" in result.output and "random (expected)" in result.output
    assert "re-ranking: gain over plain cosine" in result.output and "k-reciprocal" in result.output
    summary = (out / "summary.md").read_text()
    assert "+ aqe |" in summary and "+ k-reciprocal |" in summary
    header = summary.splitlines()[0]
    assert "store_recall@10" not in header and "images_per_second" in header  # all "-": left out; some: kept
    report = runner.invoke(main, ["bench", "report", str(out), "--markdown", "--plot", str(tmp_path / "plot.png")])
    assert report.exit_code == 0
    assert report.output.startswith("| dataset | protocol | encoder |")
    assert (tmp_path / "plot.png").stat().st_size > 10_000


def test_top_k_breaks_ties_at_the_kth_place_by_lowest_index():
    assert top_k(np.zeros((1, 100), dtype=np.float32), 5).tolist() == [[0, 1, 2, 3, 4]]


def test_a_query_label_missing_from_the_gallery_is_skipped_not_a_crash():
    from embedkit.bench.run import evaluate

    store = open_store(":memory:")
    vectors, labels = clustered(n=30, classes=3)
    labels = labels.copy()
    splits = ["test" if i < 6 else "train" for i in range(30)]
    labels[:6] = 7  # queries of a class the gallery lacks
    fill(store, vectors, labels.tolist(), splits=splits)
    task = make_task(store, "c", "v", "split", query_split="test", gallery_split="train")
    with pytest.raises(InvalidOptionError, match="nothing to score"):
        evaluate(task, 0)


def test_through_store_refuses_a_gallery_smaller_than_what_the_store_holds(folder, tmp_path):
    store = str(tmp_path / "store")
    bench([f"folder:{folder}"], ["mobilenet_v2.random"], store=store, out_dir=None, image_size=32, build=BuildSpec(workers=0))
    results, failures = bench([f"folder:{folder}"], ["mobilenet_v2.random"], store=store, out_dir=None,
                              image_size=32, build=BuildSpec(workers=0), limit=2 * PER_CLASS - 1,
                              query=QuerySpec(through_store=True))
    assert results == [] and "another --qdrant folder" in failures[0].error


def test_report_reads_only_bench_results_and_says_when_there_are_none(folder, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    bench([f"folder:{folder}"], ["mobilenet_v2.random"], store=str(tmp_path / "store"), out_dir=out, image_size=32,
          build=BuildSpec(workers=0), query=QuerySpec(queries=4))
    (out / "notes.json").write_text('{"title": "not a result"}')
    (out / "log.jsonl").write_text('{"a": 1}\n{"b": 2}\n')
    passed_over = runner.invoke(main, ["bench", "report", str(out), "--markdown"])
    assert passed_over.exit_code == 0 and passed_over.output.count("mobilenet_v2.random-32px") == 1
    for bad, message in ((out / "notes.json", "is not a bench result (it has no dataset"),
                         (out / "log.jsonl", "is not JSON"), (tmp_path / "empty", "no bench result in")):
        bad.mkdir(exist_ok=True) if bad.name == "empty" else None
        result = runner.invoke(main, ["bench", "report", str(bad)])
        assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


def test_an_interrupted_bench_writes_nothing_for_the_pair_and_exits_130(folder, tmp_path, monkeypatch):
    import embedkit.bench.run as run

    real = run.ingest

    def interrupted(*args, **kwargs):
        report = real(*args, **{**kwargs, "limit": 3})
        report.interrupted = True
        return report

    monkeypatch.setattr(run, "ingest", interrupted)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        bench([f"folder:{folder}"], ["mobilenet_v2.random"], store=str(tmp_path / "store"), out_dir=out,
              image_size=32, build=BuildSpec(workers=0))
    assert list(out.glob("*")) == []
    result = CliRunner().invoke(main, ["bench", "-d", f"folder:{folder}", "-e", "mobilenet_v2.random", "--image-size",
                                       "32", "--qdrant", str(tmp_path / "store"), "--out-dir", str(out), "--workers", "0"])
    assert result.exit_code == 130 and "interrupted" in result.stderr and "mAP@5" not in result.output
    assert list(out.glob("*")) == []


def test_store_figures_skip_queries_whose_class_the_gallery_lacks_as_the_exact_ones_do():
    from embedkit.bench.run import evaluate, evaluate_store

    store = open_store(":memory:")
    vectors, labels = clustered(n=60, classes=3)
    splits = ["test" if i % 5 == 0 or label == 2 else "train" for i, label in enumerate(labels)]
    fill(store, vectors, labels, splits=splits)
    task = make_task(store, "c", "v", "split", query_split="test", gallery_split="train")
    assert 2 in task.queries.labels and 2 not in task.gallery.labels
    exact, _, _, _, top, skipped = evaluate(task, seed=0)
    assert skipped == int(np.sum(task.queries.labels == 2)) > 0
    through = evaluate_store(store, "c", "v", task, top, "train")
    assert through["recall@10_vs_exact"] == pytest.approx(1.0)
    for key in ("p@10", "map@5", "hit@10"):
        assert through[key] == pytest.approx(exact[key], abs=1e-9)


def test_summary_md_holds_every_result_of_the_folder_not_only_the_last_runs(tmp_path, photos):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    for size in (8, 4):
        _, failures = bench([f"folder:{folder}"], ["pixels"], image_size=size, store=tmp_path / "store",
                            out_dir=tmp_path / "out", build=BuildSpec(workers=0), device="cpu")
        assert not failures
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert len(list((tmp_path / "out").glob("*.json"))) == 2
    assert "pixels-8px" in summary and "pixels-4px" in summary
    assert "pixels-8px" in (tmp_path / "out" / "summary.csv").read_text()
