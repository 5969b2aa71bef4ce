"""Browsing: every point matching a filter, page after page, each once, with no query and no vector read."""

from __future__ import annotations

import numpy as np
import pytest

from embedkit.errors import InvalidOptionError
from embedkit.records import VectorRecord
from embedkit.retrieval.browse import browse
from embedkit.store import open_store


@pytest.fixture(scope="module")
def location(tmp_path_factory):
    path = tmp_path_factory.mktemp("browse") / "store"
    with open_store(path) as store:
        store.ensure_vector("toy", "enc", VectorRecord("enc", 4, "image"))
        store.upsert("toy", "enc", [f"s{i:02d}" for i in range(25)],
                     np.random.default_rng(0).normal(size=(25, 4)).astype(np.float32),
                     [{"label": i % 3, "split": "test" if i % 2 else "train", "cluster": i % 4} for i in range(25)])
    return path


def every_page(location, filter, limit):
    pages, offset = [], None
    while True:
        page = browse("toy", store=location, filter=filter, limit=limit, offset=offset)
        pages.append(page)
        offset = page.next_offset
        if offset is None:
            return pages


@pytest.mark.parametrize(("filter", "expected"), [
    (None, {f"s{i:02d}" for i in range(25)}),
    ({"label": 1}, {f"s{i:02d}" for i in range(25) if i % 3 == 1}),
    ({"split": "test", "cluster": [0, 1]}, {f"s{i:02d}" for i in range(25) if i % 2 and i % 4 in (0, 1)}),
])
def test_the_pages_hold_every_matching_point_once_and_count_them(location, filter, expected):
    pages = every_page(location, filter, limit=4)
    ids = [point.sample_id for page in pages for point in page.points]
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))
    assert all(page.matching == len(expected) for page in pages)
    assert all(len(page.points) <= 4 for page in pages) and pages[-1].next_offset is None


def test_a_numeric_offset_skips_that_many_points_in_the_same_order(location):
    pages = every_page(location, {"label": 0}, limit=3)
    order = [point.sample_id for page in pages for point in page.points]
    skipped = browse("toy", store=location, filter={"label": 0}, limit=3, offset=4)
    assert [point.sample_id for point in skipped.points] == order[4:7]
    assert browse("toy", store=location, filter={"label": 0}, offset="100").points == []


def test_payloads_come_with_the_points_and_json_says_how_to_go_on(location):
    page = browse("toy", store=location, filter={"cluster": 2}, limit=2)
    assert all(point.payload["cluster"] == 2 for point in page.points)
    document = page.to_json()
    assert document["matching"] == 6 and document["next_offset"] == page.next_offset
    assert {"sample_id", "payload"} == set(document["points"][0])


@pytest.mark.parametrize(("arguments", "says"), [
    ({"offset": "page-two"}, "neither a number of points to skip nor the next_offset"),
    ({"limit": 0}, "a page holds 1 to 1000 points"),
    ({"filter": {"label": 1.5}}, "is not supported"),
])
def test_a_browse_that_cannot_run_says_what_to_give(location, arguments, says):
    with pytest.raises(InvalidOptionError, match=says):
        browse("toy", store=location, **arguments)


def test_browsing_a_missing_collection_names_it(location):
    with pytest.raises(InvalidOptionError, match="collection 'nope' does not exist"):
        browse("nope", store=location)


def test_a_filter_on_a_half_written_field_is_warned_as_search_warns(tmp_path, caplog):
    with open_store(tmp_path / "store") as store:
        store.ensure_vector("toy", "enc", VectorRecord("enc", 4, "image"))
        store.upsert("toy", "enc", ["a", "b"], np.eye(2, 4, dtype=np.float32), [{"cluster": 0}, {"cluster": 1}])
        with pytest.raises(RuntimeError), store.writing_fields("toy", ["cluster"], "embedkit cluster -c toy --write"):
            raise RuntimeError("stopped half-way")  # an error keeps the record, as a kill does
        page = browse("toy", store=store, filter={"cluster": 0})
        (line,) = page.warnings
        assert "'cluster'" in line and "half-written" in line and line in caplog.text
        assert page.to_json()["warnings"] == [line]
        assert browse("toy", store=store, filter={"label": 0}).warnings == []
        assert browse("toy", store=store).warnings == []
