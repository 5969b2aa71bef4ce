"""`embedkit cluster` and `embedkit map`: reports on stderr or one JSON document, files written, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner
from PIL import Image

from embedkit.analysis import cluster
from embedkit.cli import main
from tests.cli.test_fuzz import assert_one_error_line
from tests.cli.test_startup import heavy_modules_after
from tests.support.manifests import ingest_colours


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    return ingest_colours(tmp_path_factory.mktemp("shapes"))[0]


@pytest.fixture
def store(ingested, tmp_path):
    shutil.copytree(ingested, tmp_path / "store")
    return tmp_path / "store"


def invoke(store, *args: object):
    return CliRunner().invoke(main, [str(a) for a in args] + ["--qdrant", str(store)], catch_exceptions=True)


def test_cluster_prints_one_json_document_and_search_then_filters_by_the_written_field(store):
    result = invoke(store, "cluster", "-c", "shapes", "-k", "3", "--write", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["points"], report["clusters"], report["field"], report["written"]) == (36, 3, "cluster", 36)
    assert report["scores"]["nmi"] > report["baseline"]["nmi"] + 0.5
    assert {s["top_label"] for s in report["summaries"]} == {"red", "green", "blue"}
    assert "ids" not in report and "assignments" not in report
    biggest = report["summaries"][0]
    found = invoke(store, "search", "-c", "shapes", "--id", "manifest/img/test-red-0.png", "-k", "36",
                   "--filter", f"cluster={biggest['cluster']}", "--json")
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)["hits"]
    assert len(hits) == biggest["size"] - (biggest["top_label"] == "red")  # the query itself is left out
    assert {hit["payload"]["cluster"] for hit in hits} == {biggest["cluster"]}


@pytest.mark.parametrize("write", [False, True])
def test_cluster_stopped_says_what_it_left_nothing_or_a_half_written_field(store, monkeypatch, write):
    from embedkit.store import Store

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM: while the payloads are written, or while it clusters

    if write:
        monkeypatch.setattr(Store, "set_payloads", stopped)
    else:
        monkeypatch.setattr(cluster, "fit_clusters", stopped)
    result = invoke(store, "cluster", "-c", "shapes", "-k", "3", *(["--write"] if write else []))
    assert result.exit_code == 130, result.output
    said = "marked half-written until a run gets to the end" if write else "nothing was written"
    assert said in result.stderr, result.stderr


def test_cluster_draws_its_scores_and_clusters_on_stderr(store):
    result = invoke(store, "cluster", "-c", "shapes", "--method", "agglomerative", "--linkage", "average", "--k", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    for text in ("agglomerative", "silhouette, cosine", "Davies-Bouldin", "NMI with labels (36 labelled)",
                 "random, same sizes", "most common label", "red (100%)"):
        assert text in result.stderr, result.stderr
    assert "wrote payload field" not in result.stderr and "--write stores each point's cluster" in result.stderr


def test_map_writes_the_png_and_the_html_page(store, tmp_path):
    png, page = tmp_path / "shapes.png", tmp_path / "shapes.html"
    result = invoke(store, "map", "-c", "shapes", "--method", "tsne", "--thumbnails", "--out", png, "--html", page,
                    "--width", "700", "--height", "500", "--hover-images", "8", "--json")
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)
    assert (written["points"], written["method"], written["html_images"]) == (36, "tsne", 8)
    with Image.open(png) as image:
        assert image.size == (700, 500)
    assert page.read_text().count("data:image/jpeg;base64,") == 8


def test_map_colours_by_the_clusters_cluster_wrote(store, tmp_path):
    assert invoke(store, "cluster", "-c", "shapes", "--k", "3", "--field", "group", "--write").exit_code == 0
    result = invoke(store, "map", "-c", "shapes", "--colour", "group", "--out", tmp_path / "groups.png")
    assert result.exit_code == 0, result.output
    assert "3 group groups" in result.stderr and (tmp_path / "groups.png").is_file()


@pytest.mark.parametrize(("args", "says"), [
    (["cluster", "-c", "shapes", "--k", "36"], "give --k from 2 to 35"),
    (["cluster", "-c", "shapes", "--field", "label", "--write"], "is written by ingest"),
    (["cluster", "-c", "shapes", "--field", "a.b", "--write"], "invalid payload field 'a.b' for clusters"),
    (["cluster", "-c", "shapes", "--limit", "20", "--sample", "10"], "--limit takes the first N and --sample"),
    (["map", "-c", "shapes", "--limit", "20", "--sample", "10"], "--limit takes the first N and --sample"),
    (["cluster", "-c", "shapes", "--split", "nope"], "no stored vectors"),
    (["cluster", "-c", "nowhere"], "collection 'nowhere' does not exist"),
    (["cluster", "-c", "shapes", "--method", "dbscan"], "'dbscan' is not one of 'kmeans', 'agglomerative', 'hdbscan'"),
    (["cluster", "-c", "shapes", "--k", "1"], "1 is not in the range 2<=x<=100000"),
    (["map", "-c", "shapes", "--colour", "weather"], "no point of 'shapes' has the payload field 'weather'"),
    (["map", "-c", "shapes", "--method", "tsne", "--limit", "4"], "t-SNE needs at least 7 points, got 4"),
    (["map", "-c", "shapes", "--out", "map.jpg"], "'map.jpg' is not a .png file name"),
    (["map", "-c", "shapes", "--html", "page.htm"], "is not a .html file name"),
    (["map", "-c", "shapes", "--out", "missing/map.png"], "folder missing does not exist"),
])
def test_a_call_that_cannot_run_is_one_error_line(store, args, says):
    assert says in assert_one_error_line(invoke(store, *args), 2)


def test_too_many_points_for_agglomerative_clustering_is_one_error_line_with_the_remedy(store, monkeypatch):
    monkeypatch.setattr(cluster, "AGGLOMERATIVE_LIMIT", 10)
    error = assert_one_error_line(invoke(store, "cluster", "-c", "shapes", "--method", "agglomerative"), 2)
    assert "use --method kmeans" in error and "--limit or --split" in error


def test_map_by_umap_without_umap_learn_is_one_error_line_naming_the_extra(store, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "umap", None)
    error = assert_one_error_line(invoke(store, "map", "-c", "shapes", "--method", "umap", "--out", tmp_path / "m.png"))
    assert 'pip install "embedkit[maps]"' in error
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize("command", ["cluster", "map"])
def test_the_help_of_cluster_and_map_loads_no_model_or_plotting_library(command):
    assert heavy_modules_after(command, "--help") == []
    code = (f"import sys; from embedkit.cli import main; main([{command!r}, '--help'], standalone_mode=False); "
            f"print([m for m in ('sklearn', 'matplotlib', 'umap') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().endswith("[]"), result.stdout[-500:] + result.stderr[-500:]


def test_cluster_writes_no_payload_unless_asked_and_the_old_no_write_only_notes_its_deprecation(store):
    from embedkit.store import open_store

    plain = invoke(store, "cluster", "-c", "shapes", "-k", "3", "--json")
    old = invoke(store, "cluster", "-c", "shapes", "-k", "3", "--no-write", "--json")
    assert plain.exit_code == 0 and old.exit_code == 0, plain.output + old.output
    assert json.loads(plain.stdout)["field"] is None and json.loads(old.stdout)["written"] == 0
    assert "note: --no-write is deprecated" in old.stderr
    with open_store(store) as opened:
        assert "cluster" not in opened.indexed_fields("shapes")


def test_limit_and_sample_reach_cluster_and_map(store, tmp_path):
    for command in (["cluster", "-k", "2"], ["map", "--out", tmp_path / "m.png"]):
        for choice in (["--limit", "8"], ["--sample", "8", "--seed", "3"]):
            result = invoke(store, *command, "-c", "shapes", *choice, "--json")
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout)["points"] == 8
