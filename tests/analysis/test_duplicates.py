"""Near-duplicates from stored vectors: the groups a brute-force check finds, leaks only across splits, label
conflicts, marks that follow the last run, and no image encoded again."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from embedkit.analysis.duplicates import components, find_duplicates
from embedkit.errors import InvalidOptionError
from embedkit.ingestion import ingest
from embedkit.store import open_store
from tests.support.duplicates import make_dataset
from tests.support.manifests import CountingEncoder

@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The dataset ingested with an 8 x 8 thumbnail encoder; the encoder, and every stored vector by id."""
    root = tmp_path_factory.mktemp("duplicates")
    encoder = CountingEncoder("thumb", side=8)
    ingest(f"manifest:{make_dataset(root / 'data')}", encoder, store=root / "store", collection="shots", workers=0)
    with open_store(root / "store") as store:
        rows = [(i, v, p) for ids, arrays, payloads in store.iter_points("shots", [encoder.vector_name])
                for i, v, p in zip(ids, arrays[encoder.vector_name], payloads)]
    vectors = {i: v / np.linalg.norm(v) for i, v, _ in rows}
    return root / "store", encoder, vectors, {i: p for i, _, p in rows}


def brute_force(vectors: dict[str, np.ndarray], threshold: float, split: str | None = None,
                payloads: dict | None = None) -> list[list[str]]:
    """The groups an N x N similarity matrix gives: the points linked by pairs at `threshold` or more (a
    search through the matrix from each point not yet grouped), each group sorted, the groups sorted."""
    ids = sorted(i for i in vectors if split is None or payloads[i]["split"] == split)
    matrix = np.stack([vectors[i] for i in ids])
    linked = (matrix @ matrix.T >= threshold) & ~np.eye(len(ids), dtype=bool)
    grouped: set[int] = set()
    groups = []
    for start in range(len(ids)):
        if start in grouped or not linked[start].any():
            continue
        group, frontier = {start}, [start]
        while frontier:
            new = set(np.flatnonzero(linked[frontier].any(0)).tolist()) - group
            group |= new
            frontier = sorted(new)
        grouped |= group
        groups.append(sorted(ids[i] for i in group))
    return sorted(groups)


def named(sample_id: str) -> str:
    return sample_id.removeprefix("manifest/img/").removesuffix(".png")


def groups_of(report) -> list[list[str]]:
    return sorted(sorted(m.sample_id for m in g.members) for g in report.groups)


@pytest.mark.parametrize("threshold", [0.8, 0.9, 0.95, 0.99])
def test_the_groups_are_those_a_brute_force_check_of_every_pair_finds(stored, threshold):
    location, _, vectors, _ = stored
    report = find_duplicates(location, "shots", threshold=threshold)
    assert groups_of(report) == brute_force(vectors, threshold)
    assert report.points == len(vectors)


def test_planted_copies_are_found_and_nothing_else_at_the_default_threshold(stored):
    location, encoder, _, _ = stored
    seen = encoder.images_seen
    report = find_duplicates(location, "shots")
    assert encoder.images_seen == seen  # from the stored vectors only
    assert {frozenset(named(m.sample_id) for m in g.members) for g in report.groups} == {
        frozenset(names) for names in (("test-copy-of-train-cat-0", "train-cat-0"),
                                       ("train-dog-1", "train-dog-1-bright"), ("train-fox-2", "train-fox-2-as-cat"),
                                       ("test-dog-0", "test-dog-0-edit1", "test-dog-0-edit2"),
                                       ("train-cat-3", "val-copy-of-train-cat-3"))}
    for group in report.groups:
        assert group.kept.sample_id == min((m.sample_id for m in group.members), key=lambda i: (len(i), i))
        assert group.kept.similarity == 1
        assert [m.sample_id for m in group.members[1:]] == sorted(m.sample_id for m in group.members[1:])
        assert all(m.similarity >= group.min_similarity - 1e-6 >= 0.95 - 2e-6 for m in group.members)
    assert [len(g.members) for g in report.groups] == sorted((len(g.members) for g in report.groups), reverse=True)
    assert report.duplicates == 6 and report.pairs == 7


def test_a_pair_is_grouped_at_its_own_similarity_and_not_just_above_it(stored):
    location, _, vectors, _ = stored
    bright = [i for i in vectors if "dog-1" in i and i.startswith("manifest/img/train")]
    similarity = float(vectors[bright[0]] @ vectors[bright[1]])
    assert 0.95 < similarity < 0.9999
    below = find_duplicates(location, "shots", threshold=similarity - 1e-4)
    above = find_duplicates(location, "shots", threshold=similarity + 1e-4)
    assert sorted(bright) in groups_of(below) and sorted(bright) not in groups_of(above)
    assert groups_of(above) == brute_force(vectors, similarity + 1e-4)
    assert groups_of(find_duplicates(location, "shots", threshold=1.0)) == brute_force(vectors, 1.0 - 1e-6)


def test_leaks_are_test_points_with_a_near_duplicate_in_train_and_nothing_within_a_split(stored):
    location, _, _, _ = stored
    report = find_duplicates(location, "shots")
    assert [(named(leak.test_id), named(leak.train_id)) for leak in report.leaks] == [
        ("test-copy-of-train-cat-0", "train-cat-0")]
    assert report.leaks[0].similarity > 0.999 and report.leaks[0].test_label == report.leaks[0].train_label == "cat"
    only = find_duplicates(location, "shots", leaks_only=True)
    assert [[named(m.sample_id) for m in g.members] for g in only.groups] == [
        ["train-cat-0", "test-copy-of-train-cat-0"]]
    assert only.groups[0].number == only.leaks[0].group == 1
    renamed = find_duplicates(location, "shots", train_split="train", test_split="val")
    assert [(named(leak.test_id), named(leak.train_id)) for leak in renamed.leaks] == [
        ("val-copy-of-train-cat-3", "train-cat-3")]


def test_one_split_is_searched_alone(stored):
    location, _, vectors, payloads = stored
    report = find_duplicates(location, "shots", split="test", threshold=0.9)
    assert groups_of(report) == brute_force(vectors, 0.9, split="test", payloads=payloads)
    assert report.points == sum(p["split"] == "test" for p in payloads.values()) and report.leaks == []
    with pytest.raises(InvalidOptionError, match="leave out the split"):
        find_duplicates(location, "shots", split="test", leaks_only=True)


def test_progress_counts_the_points_searched_of_the_total(stored):
    location, _, vectors, _ = stored
    heard = []
    find_duplicates(location, "shots", batch_size=7, progress=heard.append)
    assert [p.done for p in heard] == [*range(0, len(vectors), 7), len(vectors)]
    assert {p.total for p in heard} == {len(vectors)}


def test_groups_whose_members_have_different_labels_are_label_conflicts(stored):
    location, _, _, _ = stored
    report = find_duplicates(location, "shots")
    [conflict] = report.label_conflicts
    assert [named(m.sample_id) for m in conflict.members] == ["train-fox-2", "train-fox-2-as-cat"]
    assert conflict.labels == ["cat", "fox"]
    assert report.to_json()["label_conflicts"] == [conflict.number]


def test_a_chain_of_edits_is_one_group_whose_lowest_similarity_is_its_weakest_pair(stored):
    location, _, vectors, _ = stored
    report = find_duplicates(location, "shots")
    [chain] = [g for g in report.groups if len(g.members) == 3]
    ids = [m.sample_id for m in chain.members]
    expected = min(float(vectors[a] @ vectors[b]) for a in ids for b in ids)
    assert chain.min_similarity == pytest.approx(expected, abs=1e-5) and chain.all_pairs


def test_groups_too_large_for_every_pair_keep_the_pairs_the_index_found(stored, monkeypatch):
    from embedkit.analysis import duplicates

    location, _, vectors, _ = stored
    everything = find_duplicates(location, "shots")
    monkeypatch.setattr(duplicates, "MAX_PAIRWISE", 2)
    large = find_duplicates(location, "shots")
    assert groups_of(large) == groups_of(everything) and large.leaks == everything.leaks
    [chain] = [g for g in large.groups if len(g.members) == 3]
    ids = [m.sample_id for m in chain.members]
    links = [float(vectors[a] @ vectors[b]) for a in ids for b in ids if a < b]
    to_kept = [float(vectors[ids[0]] @ vectors[i]) for i in ids]
    assert not chain.all_pairs and min(links) - 1e-5 <= chain.min_similarity <= min(to_kept) + 1e-5
    assert all(g.all_pairs for g in large.groups if len(g.members) == 2)


def test_a_small_k_still_links_a_group_and_says_points_were_saturated(stored):
    location, _, vectors, _ = stored
    report = find_duplicates(location, "shots", k=1, threshold=0.8)
    assert groups_of(report) == brute_force(vectors, 0.8) and report.saturated > 0


def test_marks_name_the_group_and_the_kept_member_and_a_rerun_clears_the_stale_ones(tmp_path, stored):
    location, _, _, _ = stored
    copy = tmp_path / "store"
    shutil.copytree(location, copy)

    def marks() -> dict[str, tuple]:
        with open_store(copy) as store:
            return {named(i): (p.get("duplicate_group"), named(p["duplicate_of"]) if "duplicate_of" in p else None)
                    for ids, _, payloads in store.iter_points("shots", ["thumb.v1"]) for i, p in zip(ids, payloads)
                    if "duplicate_group" in p or "duplicate_of" in p}

    report = find_duplicates(copy, "shots", mark=True, threshold=0.95)
    assert report.marked == 11 and report.cleared == 0
    found = marks()
    chain = found["test-dog-0"][0]
    assert found["test-dog-0"] == (chain, None) and found["test-dog-0-edit2"] == (chain, "test-dog-0")
    assert found["train-dog-1-bright"][1] == "train-dog-1" and found["train-dog-1"][1] is None

    again = find_duplicates(copy, "shots", mark=True, leaks_only=True)
    assert (again.marked, again.cleared) == (2, 9)
    assert marks() == {"train-cat-0": (1, None), "test-copy-of-train-cat-0": (1, "train-cat-0")}
    find_duplicates(copy, "shots", mark=True, threshold=1.0, split="val")
    assert marks() == {}


def test_unknown_collections_and_vectors_and_bad_thresholds_are_one_line_errors(stored):
    location, _, _, _ = stored
    for arguments, message in (({"collection": "nope"}, "does not exist"),
                               ({"collection": "shots", "vector": "resnet50"}, "has no vector 'resnet50'"),
                               ({"collection": "shots", "threshold": 0.0}, r"in \(0, 1\]"),
                               ({"collection": "shots", "threshold": 1.5}, r"in \(0, 1\]"),
                               ({"collection": "shots", "k": 0}, "must be positive")):
        with pytest.raises(InvalidOptionError, match=message) as raised:
            find_duplicates(location, **arguments)
        assert "\n" not in str(raised.value)


def test_components_join_chains_and_keep_separate_groups_apart():
    assert components([("b", "c"), ("a", "b"), ("x", "y"), ("d", "c")]) == [["a", "b", "c", "d"], ["x", "y"]]
    assert components([("a-copy.png", "b.png"), ("a.png", "a-copy.png")]) == [["a.png", "a-copy.png", "b.png"]]
    assert components([]) == []


def test_a_report_draws_nothing_until_saved_then_a_png_per_group_that_its_json_names(stored, tmp_path):
    location, _, _, _ = stored
    report = find_duplicates(location, "shots")
    assert report.grids == [] and len(report.groups) > 2
    written = report.save(tmp_path / "grids", limit=2)
    assert [path.name for path in written] == ["group-0001.png", "group-0002.png"] and report.grids == written
    assert report.to_json()["grids"] == [str(path) for path in written]
