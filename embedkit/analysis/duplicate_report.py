"""What `find_duplicates` reports: groups of near-duplicates, leaks across splits, label conflicts; saved as a
picture of each group."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Member:
    """One point of a group, with the payload fields a report and a grid show."""

    sample_id: str
    split: str | None
    label: int | None
    label_name: str | None
    source: str
    dataset: str | None
    similarity: float = 1.0
    """Cosine with the group's kept member (1 for the kept member itself)."""

    @property
    def label_text(self) -> str | None:
        return self.label_name or (None if self.label is None else str(self.label))

    def payload(self) -> dict[str, Any]:
        return {"sample_id": self.sample_id, "split": self.split, "label": self.label, "label_name": self.label_name,
                "source": self.source, "dataset": self.dataset}


@dataclass
class DuplicateGroup:
    number: int
    """1 for the largest group; the number a --mark run writes into `duplicate_group`."""
    members: list[Member]
    """The kept member (the shortest sample id, then the first in order) first, then the others by sample id."""
    min_similarity: float
    """The lowest cosine between two members; under the threshold when near-duplicates chain (a~b, b~c)."""
    all_pairs: bool = True
    """Whether `min_similarity` covers every pair; a group over MAX_PAIRWISE images has the lowest of the pairs
    the index found and of its members' cosines with the kept one (the true lowest may be lower)."""

    @property
    def kept(self) -> Member:
        return self.members[0]

    @property
    def splits(self) -> list[str]:
        return sorted({str(m.split) for m in self.members if m.split is not None})

    @property
    def labels(self) -> list[str]:
        return sorted({m.label_text for m in self.members if m.label_text is not None})

    @property
    def label_conflict(self) -> bool:
        """Whether members carry different labels: one of them is probably mislabelled."""
        return len(self.labels) > 1


@dataclass
class Leak:
    """A test point with a near-duplicate in the training split: the most similar one."""

    test_id: str
    train_id: str
    similarity: float
    group: int
    test_label: str | None
    train_label: str | None


@dataclass(kw_only=True)
class DuplicateReport:
    collection: str
    vector_name: str
    threshold: float
    k: int
    split: str | None
    train_split: str
    test_split: str
    points: int
    """Points searched (those of `split` when given)."""
    pairs: int
    """Near-duplicate pairs the index found."""
    groups: list[DuplicateGroup]
    leaks: list[Leak]
    leaks_only: bool = False
    saturated: int = 0
    """Points with k near-duplicates or more: a larger k may find more links."""
    index_unfinished: bool = False
    marked: int = 0
    cleared: int = 0
    """Points whose marks of an earlier run were removed."""
    grids: list[Path] = field(default_factory=list)
    """The group PNGs `save` wrote."""

    @property
    def duplicates(self) -> int:
        """Points that could go, keeping one per group."""
        return sum(len(g.members) - 1 for g in self.groups)

    @property
    def label_conflicts(self) -> list[DuplicateGroup]:
        return [g for g in self.groups if g.label_conflict]

    def save(self, folder: str | os.PathLike[str], *, limit: int = 50) -> list[Path]:
        """Draw the first `limit` groups into `folder`, a PNG each (`group-0001.png` and on), the kept member framed
        red and a leaking test image orange; returns the files written (kept in `grids`)."""
        from embedkit.drawing.duplicate_grids import write_group_grids  # imports the datasets: only for pictures

        self.grids = write_group_grids(self.groups, Path(folder), limit, leaking={leak.test_id for leak in self.leaks})
        return self.grids

    def to_json(self) -> dict[str, Any]:
        return {
            "collection": self.collection, "vector": self.vector_name, "threshold": self.threshold, "k": self.k,
            "split": self.split, "train_split": self.train_split, "test_split": self.test_split,
            "leaks_only": self.leaks_only, "points": self.points, "pairs": self.pairs,
            "groups_count": len(self.groups), "duplicates": self.duplicates, "leaks_count": len(self.leaks),
            "label_conflicts_count": len(self.label_conflicts), "saturated": self.saturated,
            "index_unfinished": self.index_unfinished, "marked": self.marked, "cleared": self.cleared,
            "grids": [str(p) for p in self.grids],
            "groups": [{"group": g.number, "size": len(g.members), "kept": g.kept.sample_id,
                        "min_similarity": g.min_similarity, "all_pairs": g.all_pairs, "splits": g.splits,
                        "labels": g.labels, "label_conflict": g.label_conflict,
                        "members": [{**m.payload(), "similarity": m.similarity} for m in g.members]}
                       for g in self.groups],
            "leaks": [vars(leak) for leak in self.leaks],
            "label_conflicts": [g.number for g in self.label_conflicts],
        }
