"""`embedkit verify`: re-embed a sample of a collection's points and compare them with what is stored."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console

from embedkit.cli.options import NumberRange, StoreLocation, store_options
from embedkit.cli.progress import job_progress
from embedkit.cli.tables import print_json
from embedkit.hookspecs import hookimpl


@click.command("verify")
@click.option("--collection", "-c", required=True, help="Collection to verify.")
@click.option("--encoder", "-e", default=None, help="Which stored vector (default: the collection's default one).")
@click.option("--sample", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Stored points to embed again and compare.")
@click.option("--all", "every_point", is_flag=True, help="Embed every stored point again (slower; finds every damaged one).")
@click.option("--repair", is_flag=True, help="Store what the differing points embed to now in place of their vectors.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--tolerance", type=NumberRange(0, 2), default=1e-5, show_default=True,
              help="Largest difference of one component of the unit vectors that still counts as equal "
                   "(loosen it to compare vectors made on a GPU or in bf16 with a CPU's).")
@click.option("--device", default="auto", show_default=True, help="Where the sample is embedded again.")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def verify_command(collection: str, encoder: str | None, sample: int, every_point: bool, repair: bool, seed: int,
                   tolerance: float, device: str, store: StoreLocation, as_json: bool) -> None:
    """Check stored vectors against their sources.

    Embeds a random sample of stored points again and compares; counts the dataset's samples without a vector.
    Exits 1 when a stored vector differs (unless --repair replaced it), or when the collection lost points or its
    metadata point since its last writer recorded their counts."""
    from embedkit.ingestion.verify import verify  # imports torch: only when the command runs

    with job_progress("verify", "points", resume="run it again to check them all") as job, store.open() as opened:
        report = verify(collection, encoder=encoder, sample=None if every_point else sample, seed=seed, store=opened,
                        device=device, repair=repair, tolerance=tolerance, progress=job)
    if as_json:
        print_json({"collection": report.collection, "vector": report.vector_name, "checked": report.checked,
                    "differing": [{"sample_id": i, "cosine": c} for i, c in report.differing],
                    "unreadable": report.unreadable, "repaired": report.repaired, "missing": report.missing,
                    "missing_unreadable": report.missing_unreadable,
                    "largest_difference_of_equal_points": report.largest_difference, "problems": report.problems,
                    "ok": report.ok, "to_check": report.to_check, "interrupted": report.interrupted})
    else:
        console = Console(stderr=True)
        for problem in report.problems:
            console.print(f"  {problem}", highlight=False, soft_wrap=True)
        for sample_id, cosine in report.differing[:20]:
            console.print(f"  differs: {sample_id} (cosine {cosine:.4f} with what its source embeds to now)",
                          highlight=False)
        if report.vector_name:  # empty when the metadata point is lost: nothing was embedded again
            console.print(f"{report.collection} / {report.vector_name}: {report.checked} points embedded again, "
                          f"{len(report.differing)} differ (the others by {report.largest_difference:.1e} at most), "
                          f"{len(report.unreadable)} unreadable now; {missing_line(report)}"
                          + ("" if not report.differing or report.repaired else "; `--repair` stores them right"),
                          highlight=False)
        if report.interrupted:
            console.print(f"interrupted after {report.checked + len(report.unreadable)} of {report.to_check} points: "
                          f"the counts above are theirs; run it again to check them all", highlight=False)
        if report.repaired:
            console.print(f"repaired {report.repaired} points: their vectors are now what their sources embed to",
                          highlight=False)
    if report.interrupted:
        sys.exit(job.termination.exit_code)
    if report.problems or (report.differing and not report.repaired):
        sys.exit(1)


def missing_line(report: Any) -> str:
    """The samples without a vector, the unreadable files ingest skipped told apart from the others."""
    if not report.missing:
        return "every sample of its datasets has a vector"
    parts = []
    if report.missing_unreadable:
        parts.append(f"{report.missing_unreadable} in files that cannot be read (ingest skipped them; `embedkit "
                     f"datasets check` says why)")
    others = report.missing - report.missing_unreadable
    if others:
        parts.append(f"{others} left out by ingest's --split or --limit, or lost")
    return f"{report.missing} samples of its datasets have no vector: " + "; ".join(parts)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(verify_command)
