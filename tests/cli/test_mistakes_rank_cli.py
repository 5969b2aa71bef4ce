"""`embedkit mistakes` and `embedkit rank`: the Python API's reports as JSON or tables, the grids, opt-in writes,
one-line refusals that leave the store as it was."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from embedkit.analysis.mistakes import find_mistakes
from embedkit.analysis.ranking import rank_points
from embedkit.cli import main
from embedkit.store import open_store
from tests.analysis.test_known_answers import contents
from tests.analysis.test_mistakes_and_ranking import CLASSES, FLIPPED, blobs, put


@pytest.fixture
def location(tmp_path):
    vectors, labels = blobs()
    labels[list(FLIPPED)] = (labels[list(FLIPPED)] + 1) % CLASSES
    put(tmp_path / "store", "noisy", vectors, labels)
    return tmp_path / "store"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=True)


def test_mistakes_json_is_the_python_apis_and_the_grid_is_drawn(location, tmp_path):
    picture = tmp_path / "suspects.png"
    result = invoke("mistakes", "-c", "noisy", "-k", 5, "--top", 4, "-o", picture, "--qdrant", location, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    expected = find_mistakes(location, "noisy", k=5)
    assert [s["sample_id"] for s in document["suspects"]] == [s.sample_id for s in expected.suspects]
    assert document["issues"] == expected.issues and document["field"] is None
    assert {s["sample_id"] for s in document["suspects"][:4]} == {f"p{i:03d}" for i in FLIPPED}
    with Image.open(picture) as image:
        assert image.width >= 4 * 160


def test_mistakes_table_names_the_suspects_and_write_is_opt_in(location):
    before = contents(location)
    result = invoke("mistakes", "-c", "noisy", "-k", 5, "--top", 3, "--qdrant", location)
    assert result.exit_code == 0, result.output
    assert "labels most probably wrong" in result.stderr and "flags" in result.stderr
    assert contents(location) == before
    result = invoke("mistakes", "-c", "noisy", "-k", 5, "--write", "--qdrant", location)
    assert result.exit_code == 0, result.output
    assert "wrote payload fields 'label_issue'" in result.stderr
    advice = " ".join(result.stderr.split()).split("review the flagged ones: embedkit ")[1].split()
    shown = invoke(*advice, "--json", "--qdrant", location)  # the advice works and lists the flagged points
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["matching"] == json.loads(
        invoke("mistakes", "-c", "noisy", "-k", 5, "--json", "--qdrant", location).stdout)["issues"] > 0
    with open_store(location) as store:
        assert "label_issue" in store.indexed_fields("noisy")


@pytest.mark.parametrize("by", ["uniqueness", "representativeness", "hardness"])
def test_rank_json_is_the_python_apis_and_the_picture_shows_both_ends(location, tmp_path, by):
    picture = tmp_path / f"{by}.png"
    result = invoke("rank", "-c", "noisy", "--by", by, "--clusters", 4, "--top", 3, "-o", picture,
                    "--qdrant", location, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    expected = rank_points(location, "noisy", by=by, clusters=4)
    assert [p["sample_id"] for p in document["ranked"]] == [p.sample_id for p in expected.ranked]
    assert np.allclose([p["score"] for p in document["ranked"]], [p.score for p in expected.ranked])
    assert document["definition"] == expected.definition and picture.is_file()


@pytest.mark.parametrize("args", [
    ["mistakes", "-c", "noisy", "-k", "500", "--write"],
    ["mistakes", "-c", "noisy", "--field", "split", "--write"],
    ["mistakes", "-c", "nothing-here"],
    ["rank", "-c", "noisy", "--by", "representativeness", "--clusters", "500", "--write"],
    ["rank", "-c", "noisy", "--by", "uniqueness", "-e", "nope", "--write"],
], ids=" ".join)
def test_refusals_are_one_line_and_change_nothing(location, args):
    before = contents(location)
    result = invoke(*args, "--qdrant", location)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert contents(location) == before


def test_the_table_says_what_flagged_means_when_a_high_score_is_not_flagged(capsys):
    from types import SimpleNamespace

    from embedkit.cli.mistakes import render

    def suspect(name: str, score: float, issue: bool) -> SimpleNamespace:
        return SimpleNamespace(sample_id=name, label_name="Shirt", predicted_name="Bag", score=score, issue=issue)

    report = SimpleNamespace(method="knn", collection="c", vector_name="v", split=None, points=10, accuracy=0.8,
                             issues=1, seconds=0.1, notes=[], field=None, grid=None,
                             suspects=[suspect("a", 1.0, True), suspect("b", 1.0, False)])
    render(report, 10)
    assert "not a cut of P(wrong)" in " ".join(capsys.readouterr().err.split())
    report.suspects = [suspect("a", 1.0, True), suspect("b", 0.4, False)]  # the order says it: no note
    render(report, 10)
    assert "not a cut" not in capsys.readouterr().err
