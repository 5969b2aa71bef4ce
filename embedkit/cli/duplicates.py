"""`embedkit duplicates`: near-duplicate groups, train/test leaks and label conflicts from stored vectors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from embedkit.cli.options import NumberRange, StoreLocation, out_dir_option, record_options, store_options
from embedkit.cli.progress import analysis_resume, job_progress
from embedkit.cli.tables import print_json, wide_console
from embedkit.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedkit.analysis.duplicate_report import DuplicateReport

MAX_K = 1000
MAX_GRIDS = 10_000
SHOWN = 20
"""Groups and leaks listed in the table; --json lists them all."""
CHAIN_GAP = 0.05
"""A group whose members are this far under the threshold is a chain, worth a look before trusting it."""


@dataclass(frozen=True)
class GroupPictures:
    """The folder a PNG of each group goes to (None: none are drawn), and at most how many."""

    out: Path | None = None
    grids: int = 50


group_picture_options = record_options(GroupPictures, "pictures", [
    out_dir_option(help="Write a PNG per group (group-0001.png ...) into this folder.", name="out"),
    click.option("--grids", type=click.IntRange(0, MAX_GRIDS), default=50, show_default=True,
                 help="At most this many group PNGs with --out-dir."),
])
"""--out-dir and --grids, handed to the command as `pictures: GroupPictures`."""


@click.command("duplicates")
@click.option("--collection", "-c", required=True, help="Collection to search for near-duplicates.")
@click.option("--encoder", "-e", "vector", default=None,
              help="Which stored vector (an encoder name or alias; default: the collection's default one).")
@click.option("--threshold", type=NumberRange(0, 1, min_open=True), default=0.95, show_default=True,
              help="Cosine similarity from which two images count as near-duplicates (docs/duplicates.md).")
@click.option("-k", "--k", "k", type=click.IntRange(1, MAX_K), default=10, show_default=True,
              help="Nearest neighbours each image asks the index for.")
@click.option("--split", default=None, help="Search this split only (default: all, across splits).")
@click.option("--leaks", is_flag=True, help="Keep only groups with a --test-split image and a --train-split one.")
@click.option("--train-split", default="train", show_default=True, help="The split a test image must not leak from.")
@click.option("--test-split", default="test", show_default=True, help="The split whose leaks are listed.")
@group_picture_options
@click.option("--mark", is_flag=True, help="Write duplicate_group and duplicate_of into the payloads (and remove "
                                           "the marks of an earlier run from points no longer grouped).")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON on stdout.")
def duplicates_command(collection: str, vector: str | None, threshold: float, k: int, split: str | None, leaks: bool,
                       train_split: str, test_split: str, pictures: GroupPictures, mark: bool, store: StoreLocation,
                       as_json: bool) -> None:
    """Find near-duplicates and train/test leaks in stored vectors.

    Each image's nearest neighbours come from the collection's index; no image is encoded again, and
    no N x N matrix is built. Groups whose images carry different labels are listed as label conflicts."""
    from embedkit.analysis.duplicates import find_duplicates

    with job_progress("duplicates", "points", resume=analysis_resume(mark)) as job, \
            store.open() as opened:
        report = find_duplicates(opened, collection, vector=vector, threshold=threshold, k=k, split=split,
                                 leaks_only=leaks, train_split=train_split, test_split=test_split, mark=mark,
                                 progress=job)
    if pictures.out is not None and pictures.grids:
        report.save(pictures.out, limit=pictures.grids)
    if as_json:
        print_json(report.to_json())
    else:
        console = wide_console(stderr=True)
        render(report, console)
        if pictures.out is not None and pictures.grids and not report.groups:
            console.print(f"no groups: no PNG written to {pictures.out}", highlight=False, soft_wrap=True)


def render(report: DuplicateReport, console: Console) -> None:
    """The groups and the leaks as tables, then what was found in a few lines."""
    if report.groups:
        table = Table("group", "size", "min cos", "kept", "splits", "labels", box=box.SIMPLE_HEAD,
                      title=f"near-duplicate groups (cosine >= {report.threshold:g})")
        for group in report.groups[:SHOWN]:
            labels = escape(", ".join(group.labels)) + (" [red](conflict)[/]" if group.label_conflict else "")
            table.add_row(str(group.number), str(len(group.members)), f"{group.min_similarity:.3f}",
                          escape(group.kept.sample_id), escape(", ".join(group.splits)), labels)
        console.print(table)
    if report.leaks:
        table = Table(report.test_split, f"near-duplicate in {report.train_split}", "cosine", "labels", "group",
                      box=box.SIMPLE_HEAD, title=f"leaks: {report.test_split} images with a near-duplicate in "
                                                 f"{report.train_split}")
        for leak in report.leaks[:SHOWN]:
            labels = f"{leak.test_label} / {leak.train_label}" if leak.test_label != leak.train_label \
                else str(leak.test_label)
            table.add_row(escape(leak.test_id), escape(leak.train_id), f"{leak.similarity:.3f}", escape(labels),
                          str(leak.group))
        console.print(table)
    hidden = max(len(report.groups), len(report.leaks)) - SHOWN
    lines = [f"{report.collection} / {report.vector_name}: {report.points:,} points"
             + (f" of split {report.split}" if report.split else "") + f", {report.pairs:,} near-duplicate pairs; "
             + (f"{len(report.groups):,} groups hold a leak" if report.leaks_only else
                f"{len(report.groups):,} groups") + f", {report.duplicates:,} images could go (one kept per group)",
             f"leaks ({report.test_split} images with a near-duplicate in {report.train_split}): "
             f"{len(report.leaks):,}; label conflicts (groups that mix labels): {len(report.label_conflicts):,}"]
    if hidden > 0:
        lines.append(f"the tables show the first {SHOWN}; --json lists all")
    if report.marked or report.cleared:
        lines.append(f"marked {report.marked:,} points (duplicate_group, duplicate_of); removed the marks of "
                     f"{report.cleared:,} points no longer grouped")
    if report.grids:
        lines.append(f"wrote {len(report.grids)} group PNGs to {report.grids[0].parent}")
    chained = [g for g in report.groups if g.min_similarity < report.threshold - CHAIN_GAP]
    if chained:
        lowest = min(chained, key=lambda g: g.min_similarity)
        lines.append(f"{len(chained):,} groups chain images further apart (group {lowest.number}: cosine down to "
                     f"{lowest.min_similarity:.3f}); if their grids show look-alikes rather than copies, raise "
                     f"--threshold")
    if report.saturated:
        lines.append(f"{report.saturated:,} images have {report.k} near-duplicates or more: a larger --k may link more")
    if report.index_unfinished:
        lines.append(f"the index of {report.collection} is unfinished, so the search was slow; build it with "
                     f"`embedkit collections index {report.collection}`")
    for line in lines:
        console.print(escape(line), highlight=False)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(duplicates_command)
