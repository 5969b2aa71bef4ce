"""Near-duplicate groups, train/test leaks and label conflicts, found from stored vectors through the store's index.

Each point asks the index for its k nearest neighbours above the threshold (a batch query per batch of points);
the pairs found are joined into groups with a union-find. Memory grows with the pairs found (at most N x k),
never with N x N: no similarity matrix of the whole collection is built.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedkit.analysis.duplicate_report import DuplicateGroup, DuplicateReport, Leak, Member
from embedkit.errors import InvalidOptionError
from embedkit.progress import ProgressListener, tell
from embedkit.store import Store, using_store

__all__ = ["DuplicateGroup", "DuplicateReport", "Leak", "Member", "components", "find_duplicates", "write_marks"]

DEFAULT_THRESHOLD = 0.95
DEFAULT_K = 10
QUERY_BATCH = 256
"""Points per batch query: 256 x 2048 floats stay far below a server's 32 MB request limit."""
MAX_PAIRWISE = 2000
"""Groups up to this size have every pair's similarity computed; larger ones keep the pairs the index found."""
VECTOR_CHUNK = 4096
ROUNDING = 1e-6
"""Float32 cosines of identical vectors come out a few 1e-8 under 1: a pair counts within this of the threshold."""
MARK_FIELDS = ("duplicate_group", "duplicate_of")


@dataclass
class _Scan:
    """What one pass over the collection found: the pairs, the points in them, the points marked before."""

    points: int = 0
    saturated: int = 0
    pairs: dict[tuple[str, str], float] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    marked_before: list[str] = field(default_factory=list)


def find_duplicates(
    store: Store | str | os.PathLike[str] | None,
    collection: str,
    *,
    vector: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    k: int = DEFAULT_K,
    split: str | None = None,
    leaks_only: bool = False,
    train_split: str = "train",
    test_split: str = "test",
    mark: bool = False,
    batch_size: int = QUERY_BATCH,
    progress: ProgressListener | None = None,
) -> DuplicateReport:
    """Groups of stored points of `collection` whose vectors (`vector`: the vector's name; None: the collection's
    default one) have cosine `threshold` or more, linked through each point's `k` nearest neighbours; no image is
    encoded.

    `split` searches one split only; `leaks_only` keeps the groups that hold a `test_split` point and a
    `train_split` one. `mark` writes `duplicate_group` (the group's number) into the payload of every member and
    `duplicate_of` (the kept member's sample id: the shortest, then the first in order) into the others', and
    removes the marks of an earlier run from every point no longer in a group. `store` is a Store, or where one
    is (None: the default store). `report.save(folder)` draws the groups. `progress` hears the points searched.
    """
    if not 0 < threshold <= 1:
        raise InvalidOptionError(f"the threshold is a cosine similarity in (0, 1], not {threshold}; e.g. 0.95")
    if k < 1 or batch_size < 1:
        raise InvalidOptionError(f"k and batch_size must be positive, got {k} and {batch_size}")
    if leaks_only and split is not None:
        raise InvalidOptionError(f"leaks are near-duplicates across {train_split!r} and {test_split!r}; "
                                 f"leave out the split ({split!r}) to find them")
    with using_store(store) as target:
        vector_name = target.vector(collection, vector).name
        if mark:
            target.check_writable(f"mark duplicates in collection {collection!r}")
        scan = _scan(target, collection, vector_name, threshold, k, split, batch_size, progress)
        if not scan.points:  # as map, cluster and classify refuse: nothing to compare is not "no duplicates"
            where = f"{collection!r}/{vector_name!r}" + (f" split {split!r}" if split else "")
            raise InvalidOptionError(f"no stored vectors in {where}; ingest the dataset first (or check --split)")
        groups, leaks = _groups(target, collection, vector_name, scan, threshold, train_split, test_split)
        if leaks_only:
            leaking = {leak.group for leak in leaks}
            groups = [g for g in groups if g.number in leaking]
            numbers = {g.number: n for n, g in enumerate(groups, start=1)}
            for g in groups:
                g.number = numbers[g.number]
            for leak in leaks:
                leak.group = numbers[leak.group]
        report = DuplicateReport(collection=collection, vector_name=vector_name, threshold=threshold, k=k, split=split,
                                 train_split=train_split, test_split=test_split, points=scan.points,
                                 pairs=len(scan.pairs), groups=groups, leaks=leaks, leaks_only=leaks_only,
                                 saturated=scan.saturated, index_unfinished=target.index_unfinished(collection))
        if mark:
            command = f"embedkit duplicates -c {collection} -e {vector_name} --threshold {threshold:g} --k {k}" + \
                (f" --split {split}" if split is not None else "") + (" --leaks" if leaks_only else "") + " --mark"
            report.marked, report.cleared = write_marks(target, collection, groups, scan.marked_before, command)
    return report


def _scan(store: Store, collection: str, vector_name: str, threshold: float, k: int, split: str | None,
          batch_size: int, progress: ProgressListener | None = None) -> _Scan:
    scan, floor = _Scan(), threshold - ROUNDING
    filter = {"split": split} if split is not None else None
    total, done, stage = store.count(collection, vector_name), 0, "searching each point's neighbours"
    for ids, arrays, payloads in store.iter_points(collection, [vector_name], batch_size):
        tell(progress, stage, done, total, "points")
        done += len(ids)
        scan.marked_before += [i for i, p in zip(ids, payloads) if any(f in p for f in MARK_FIELDS)]
        chosen = [n for n, p in enumerate(payloads) if split is None or p.get("split") == split]
        scan.points += len(chosen)
        if not chosen:
            continue
        found = store.search_batch(collection, vector_name, arrays[vector_name][chosen], k + 1, filter=filter,
                                   score_threshold=floor)
        for n, hits in zip(chosen, found):
            scan.saturated += len(hits) > k
            for hit in hits:
                if hit.sample_id == ids[n] or hit.score < floor:
                    continue
                pair = (ids[n], hit.sample_id) if ids[n] < hit.sample_id else (hit.sample_id, ids[n])
                scan.pairs[pair] = max(scan.pairs.get(pair, -1.0), min(1.0, hit.score))
                scan.members.setdefault(ids[n], _member(ids[n], payloads[n]))
                scan.members.setdefault(hit.sample_id, _member(hit.sample_id, hit.payload))
    tell(progress, stage, done, total, "points")
    return scan


def _member(sample_id: str, payload: dict[str, Any]) -> Member:
    label = payload.get("label")
    return Member(sample_id, payload.get("split"), label if isinstance(label, int) and not isinstance(label, bool)
                  else None, payload.get("label_name"), str(payload.get("source", "")), payload.get("dataset"))


def components(pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The connected components of a graph given by its edges (union-find), largest first; in each, the id to
    keep first (the shortest, then the first in order: `a.png` before `a-copy.png`), then the others in order."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    found: dict[str, list[str]] = {}
    for node in parent:
        found.setdefault(root(node), []).append(node)
    ordered = []
    for ids in found.values():
        kept = min(ids, key=lambda i: (len(i), i))
        ordered.append([kept, *sorted(i for i in ids if i != kept)])
    return sorted(ordered, key=lambda ids: (-len(ids), ids[0]))


def _groups(store: Store, collection: str, vector_name: str, scan: _Scan, threshold: float, train_split: str,
            test_split: str) -> tuple[list[DuplicateGroup], list[Leak]]:
    found = components(scan.pairs)
    groups: list[DuplicateGroup] = []
    leaks: list[Leak] = []
    for start, stop in _chunks([len(ids) for ids in found], VECTOR_CHUNK):
        wanted = [i for ids in found[start:stop] for i in ids]
        vectors = store.get_vectors(collection, vector_name, wanted)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        offset = 0
        for number, ids in enumerate(found[start:stop], start=start + 1):
            block = vectors[offset : offset + len(ids)]
            offset += len(ids)
            members = [scan.members[i] for i in ids]
            for member, similarity in zip(members, np.minimum(block @ block[0], 1.0)):
                member.similarity = float(similarity)
            if len(ids) <= MAX_PAIRWISE:
                similarities = np.minimum(block @ block.T, 1.0)
                groups.append(DuplicateGroup(number, members, float(similarities.min())))
                row = similarities.__getitem__
            else:
                position = {i: n for n, i in enumerate(ids)}
                inside = {(min(position[a], position[b]), max(position[a], position[b])): value
                          for (a, b), value in scan.pairs.items() if a in position and b in position}
                lowest = min(min(inside.values()), min(member.similarity for member in members))
                groups.append(DuplicateGroup(number, members, lowest, all_pairs=False))
                row = functools.partial(_found_row, inside)
            leaks += _leaks(groups[-1], row, threshold, train_split, test_split)
    return groups, leaks


def _chunks(sizes: list[int], budget: int) -> Iterable[tuple[int, int]]:
    """(start, stop) runs of consecutive items whose sizes add up to at most `budget` (or one item over it)."""
    start, total = 0, 0
    for index, size in enumerate(sizes):
        if index > start and total + size > budget:
            yield start, index
            start, total = index, 0
        total += size
    if start < len(sizes):
        yield start, len(sizes)


def _found_row(inside: dict[tuple[int, int], float], where: tuple[int, list[int]]) -> np.ndarray:
    """The similarities of member `where[0]` with members `where[1]` among the pairs found; 0 where none was."""
    n, others = where
    return np.asarray([inside.get((min(n, o), max(n, o)), 0.0) for o in others])


def _leaks(group: DuplicateGroup, row: Callable[[tuple[int, list[int]]], np.ndarray], threshold: float,
           train_split: str, test_split: str) -> list[Leak]:
    train = [n for n, m in enumerate(group.members) if m.split == train_split]
    found = []
    for n, member in enumerate(group.members):
        if not train or member.split != test_split:
            continue
        similarities = row((n, train))
        best = int(np.argmax(similarities))
        if similarities[best] >= threshold - ROUNDING:
            other = group.members[train[best]]
            found.append(Leak(member.sample_id, other.sample_id, float(similarities[best]), group.number,
                              member.label_text, other.label_text))
    return found


def write_marks(store: Store, collection: str, groups: list[DuplicateGroup],
                marked_before: Iterable[str], command: str = "embedkit duplicates --mark") -> tuple[int, int]:
    """Mark the members of `groups` and remove the marks of points marked before that are in none of them.

    Returns (points marked, points whose old marks were removed)."""
    marks: dict[str, dict[str, Any]] = {}
    for group in groups:
        for member in group.members:
            marks[member.sample_id] = {"duplicate_group": group.number}
            if member is not group.kept:
                marks[member.sample_id]["duplicate_of"] = group.kept.sample_id
    before = set(marked_before)
    stale = sorted(before - marks.keys())
    with store.writing_fields(collection, list(MARK_FIELDS), command):
        store.set_payloads(collection, marks)
        store.delete_payload_fields(collection, stale, MARK_FIELDS)
        store.delete_payload_fields(collection, [g.kept.sample_id for g in groups if g.kept.sample_id in before],
                                    ["duplicate_of"])
    return len(marks), len(stale)
