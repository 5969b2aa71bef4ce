"""`embedkit mistakes`: the stored points whose labels are probably wrong, from out-of-fold predictions."""

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
    from embedkit.analysis.mistakes import MistakesReport

METHODS = ("knn", "linear")
"""`embedkit.analysis.out_of_fold.METHODS`, written out: --help imports no scikit-learn."""
MAX_K = 1000


@dataclass(frozen=True)
class JudgingClassifier:
    """The classifier whose out-of-fold probabilities judge the labels."""

    method: str = "knn"
    k: int = 10
    folds: int = 5


@dataclass(frozen=True)
class SuspectsOutput:
    """How many suspects are shown, where their picture goes, and whether the flags are written."""

    top: int = 20
    out: Path | None = None
    write: bool = False
    field: str = "label_issue"


classifier_options = record_options(JudgingClassifier, "classifier", [
    click.option("--method", type=click.Choice(METHODS), default="knn", show_default=True,
                 help="The classifier whose out-of-fold probabilities judge the labels: knn (through the store's "
                      "index, leaving each point out) or linear (logistic regression, --folds folds)."),
    click.option("-k", "--k", "k", type=click.IntRange(1, MAX_K), default=10, show_default=True,
                 help="Neighbours of the knn classifier."),
    click.option("--folds", type=click.IntRange(2, 100), default=5, show_default=True,
                 help="Cross-validation folds of the linear classifier."),
])
output_options = record_options(SuspectsOutput, "output", [
    click.option("--top", type=click.IntRange(1, 100_000), default=20, show_default=True,
                 help="Suspects listed in the table and drawn with --out (--json lists every point)."),
    click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="Write a PNG of the top suspects with their given and predicted labels to this file."),
    click.option("--write", is_flag=True, help="Store label_issue (1: flagged, indexed) and label_issue_score (the "
                                               "probability that the label is wrong) in each point's payload."),
    click.option("--field", default="label_issue", show_default=True, help="Payload field of the flag with --write."),
])


@click.command("mistakes")
@click.option("--collection", "-c", required=True, help="Collection whose labels to check.")
@click.option("--encoder", "-e", "vector", default=None,
              help="Which stored vector (an encoder name or alias; default: the collection's default one).")
@classifier_options
@click.option("--split", default=None, help="Only the points of this split (default: all).")
@output_options
@click.option("--seed", type=SEED, default=0, show_default=True)
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def mistakes_command(collection: str, vector: str | None, classifier: JudgingClassifier, split: str | None,
                     output: SuspectsOutput, seed: int, store: StoreLocation, as_json: bool) -> None:
    """Find the labels that are probably wrong.

    Each point's probability that its label is wrong is 1 minus the out-of-fold probability of its label; the
    points confident learning flags (cleanlab's find_label_issues, with its per-class thresholds) are marked.
    No image is encoded; nothing is written without --write."""
    from embedkit.analysis.mistakes import find_mistakes  # imports scikit-learn: only when the command runs

    with job_progress("mistakes", "points", resume=analysis_resume(output.write)) as show, store.open() as opened:
        report = find_mistakes(opened, collection, vector=vector, method=classifier.method, k=classifier.k,
                               folds=classifier.folds, split=split, write=output.write, field=output.field, seed=seed,
                               progress=show)
    if output.out is not None:
        report.save(output.out, count=output.top)
    if as_json:
        print_json(report.to_json())
    else:
        render(report, output.top)


def render(report: MistakesReport, top: int) -> None:
    console = wide_console(stderr=True)
    table = Table("rank", "sample", "given", "predicted", "P(wrong)", "flagged", box=box.SIMPLE_HEAD,
                  title=f"labels most probably wrong ({report.method}, out-of-fold)")
    for rank, suspect in enumerate(report.suspects[:top], start=1):
        table.add_row(str(rank), escape(suspect.sample_id), escape(suspect.label_name),
                      escape(suspect.predicted_name), f"{suspect.score:.3f}", "yes" if suspect.issue else "")
    console.print(table)
    lines = [f"{report.collection} / {report.vector_name}" + (f" (split {report.split})" if report.split else "")
             + f": {report.points:,} labelled points, out-of-fold accuracy {report.accuracy:.3f}; confident "
             f"learning flags {report.issues:,} labels ({report.issues / max(1, report.points):.1%}) in "
             f"{report.seconds:.1f} s"]
    shown = report.suspects[:top]
    if any(not s.issue and any(f.issue and f.score <= s.score for f in shown) for s in shown):
        lines.append("flagged: confident learning's pick (thresholds per class, docs/mistakes.md), not a cut of "
                     "P(wrong): a point may score high and not be flagged")
    lines += report.notes
    if report.field:
        lines.append(f"wrote payload fields '{report.field}' (indexed) and '{report.field}_score' of "
                     f"{report.written:,} points; review the flagged ones: embedkit browse -c {report.collection} "
                     f"--filter {report.field}=1")
    if report.grid:
        lines.append(f"wrote {report.grid}")
    for line in lines:
        console.print(escape(line), highlight=False, soft_wrap=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(mistakes_command)
