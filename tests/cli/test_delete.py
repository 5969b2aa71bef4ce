"""`embedkit delete`: points by sample id or filter, with confirmation, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from embedkit.cli import main
from embedkit.store import open_store
from embedkit.records import VectorRecord

ENCODER = VectorRecord("enc", 4, "image", weights="w1")


@pytest.fixture
def stored(tmp_path):
    """An embedded store with 12 points of collection `toy`, labels 0, 1, 2 in turn."""
    root = tmp_path / "store"
    vectors = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    with open_store(root) as store:
        store.ensure_vector("toy", "enc", ENCODER)
        store.upsert("toy", "enc", [f"s{i}" for i in range(12)], vectors,
                     [{"label": i % 3, "split": "test"} for i in range(12)])
    return root


@pytest.fixture
def run(stored):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, ["delete", "--qdrant", str(stored), *args], input=input, catch_exceptions=False)

    return invoke


def points(root) -> set[str]:
    with open_store(root) as store:
        return {s for ids, _, _ in store.iter_points("toy", ["enc"]) for s in ids}


def test_delete_with_yes_deletes_by_id_and_by_filter(run, stored):
    result = run("-c", "toy", "--id", "s0", "--id", "s4", "--id", "ghost", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "deleted 2 points of toy" and result.stdout == ""
    result = run("-c", "toy", "--filter", "label=2", "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"collection": "toy", "deleted": 4}
    assert points(stored) == {f"s{i}" for i in (1, 3, 6, 7, 9, 10)}
    result = run("-c", "toy", "--id", "s1", "--yes")
    assert result.exit_code == 0 and result.stderr.strip() == "deleted 1 point of toy"


def test_delete_asks_showing_how_many_points_match_and_deletes_on_yes(run, stored):
    result = run("-c", "toy", "--filter", "label=0,1", "--filter", "split=test", input="y\n")
    assert result.exit_code == 0, result.output
    assert "delete 8 points of 'toy'?" in result.stderr and "deleted 8 points of toy" in result.stderr
    assert points(stored) == {"s2", "s5", "s8", "s11"}


def test_delete_without_confirmation_deletes_nothing(run, stored):
    result = run("-c", "toy", "--filter", "label=1", input="n\n")
    assert result.exit_code == 1 and "delete 4 points of 'toy'?" in result.output
    assert "deleted" not in result.output
    assert len(points(stored)) == 12


@pytest.mark.parametrize("args, message", [
    (["--filter", "label"], "filter 'label' is not FIELD=VALUE"),
    (["--yes"], "either sample ids (--id ID) or a payload filter"),
    (["--id", "s1", "--filter", "label=1"], "not both"),
    (["--filter", "label=1"], "collection 'nope' does not exist"),
])
def test_a_bad_delete_is_a_one_line_error_with_exit_code_2(run, stored, args, message):
    collection = "nope" if "does not exist" in message else "toy"
    result = run("-c", collection, *args)
    assert result.exit_code == 2
    assert message in result.output and result.output.startswith("error:")
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert len(points(stored)) == 12
