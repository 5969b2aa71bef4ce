"""`embedkit rank`: stored points ranked by uniqueness, representativeness or hardness."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from embedkit.cli.options import SEED, StoreLocation, record_options, store_options
from embedkit.cli.progress import analysis_resume, job_progress
from embedkit.cli.tables import print_json, wide_console
from embedkit.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedkit.analysis.ranking import RankReport

MEASURES = ("uniqueness", "representativeness", "hardness")
"""`embedkit.analysis.ranking.MEASURES`, written out: --help imports no scikit-learn."""
METHODS = ("knn", "linear")
SHOWN_KEYS = {"nearest_cosine": "cos", "distance": "from centre"}


@dataclass(frozen=True)
class RankingOutput:
    """How many points are shown at each end, where their picture goes, and whether the scores are written."""

    top: int = 10
    out: Path | None = None
    write: bool = False
    field: str | None = None


output_options = record_options(RankingOutput, "output", [
    click.option("--top", type=click.IntRange(1, 10_000), default=10, show_default=True,
                 help="Points listed (and drawn with --out) at each end of the ranking (--json lists every point)."),
    click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="Write a PNG of the top and the bottom of the ranking to this file."),
    click.option("--write", is_flag=True, help="Store the score in payload field --field and its rank (1: highest) "
                                               "in FIELD_rank (indexed)."),
    click.option("--field", default=None, help="Payload field of the score with --write (default: the measure's "
                                               "name)."),
])


@click.command("rank")
@click.option("--collection", "-c", required=True, help="Collection whose points to rank.")
@click.option("--by", "by", type=click.Choice(MEASURES), required=True,
              help="uniqueness (distance to the nearest neighbours), representativeness (closeness to a k-means "
                   "centre) or hardness (entropy of a classifier's out-of-fold probabilities); docs/rank.md.")
@click.option("--encoder", "-e", "vector", default=None,
              help="Which stored vector (an encoder name or alias; default: the collection's default one).")
@click.option("-k", "--k", "k", type=click.IntRange(1, 1000), default=None,
              help="Neighbours: of uniqueness (default 3, FiftyOne's) or of hardness's knn (default 10).")
@click.option("--clusters", type=click.IntRange(1, 100_000), default=20, show_default=True,
              help="k-means clusters of representativeness.")
@click.option("--method", type=click.Choice(METHODS), default="knn", show_default=True,
              help="The classifier of hardness.")
@click.option("--split", default=None, help="Only the points of this split (default: all).")
@output_options
@click.option("--seed", type=SEED, default=0, show_default=True)
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def rank_command(collection: str, by: str, vector: str | None, k: int | None, clusters: int, method: str,
                 split: str | None, output: RankingOutput, seed: int, store: StoreLocation, as_json: bool) -> None:
    """Rank stored points: uniqueness, representativeness, hardness.

    Neighbours come from the collection's index (no N x N matrix); no image is encoded; nothing is written
    without --write."""
    from embedkit.analysis.ranking import rank_points  # imports scikit-learn: only when the command runs

    with job_progress("rank", "points", resume=analysis_resume(output.write)) as show, store.open() as opened:
        report = rank_points(opened, collection, by=by, vector=vector, k=k, clusters=clusters, method=method,
                             split=split, write=output.write, field=output.field, seed=seed, progress=show)
    if output.out is not None:
        report.save(output.out, count=output.top)
    if as_json:
        print_json(report.to_json())
    else:
        render(report, output.top)


def render(report: RankReport, top: int) -> None:
    console = wide_console(stderr=True)
    ends = [("highest", report.ranked[:top]),
            ("lowest", report.ranked[max(top, len(report.ranked) - top):])]
    for end, points in ends:
        table = Table("rank", "sample", "label", report.by, "detail", box=box.SIMPLE_HEAD,
                      title=f"{end} {report.by}")
        for point in points:
            detail = ", ".join(f"{SHOWN_KEYS.get(key, key)} {value:.3f}" if isinstance(value, float)
                               else f"{SHOWN_KEYS.get(key, key)} {value}" for key, value in point.detail.items())
            table.add_row(str(point.rank), escape(point.sample_id), escape(point.label_name or ""),
                          f"{point.score:.4f}", escape(detail))
        console.print(table)
    lines = [f"{report.collection} / {report.vector_name}" + (f" (split {report.split})" if report.split else "")
             + f": {report.points:,} points ranked by {report.by} in {report.seconds:.1f} s",
             f"{report.by}: {report.definition}", *report.notes]
    if report.field:
        lines.append(f"wrote payload fields '{report.field}' and '{report.field}_rank' (indexed) of "
                     f"{report.written:,} points")
    if report.grid:
        lines.append(f"wrote {report.grid}")
    for line in lines:
        console.print(escape(line), highlight=False, soft_wrap=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(rank_command)
