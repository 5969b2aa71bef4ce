"""`embedkit verify`: re-embed a sample of a collection's points and compare them with what is stored."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from embedkit.cli.options import StoreLocation, store_options
from embedkit.cli.tables import print_json
from embedkit.hookspecs import hookimpl


@click.command("verify")
@click.option("--collection", "-c", required=True, help="Collection to verify.")
@click.option("--encoder", "-e", default=None, help="Which stored vector (default: the collection's default one).")
@click.option("--sample", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Stored points to embed again and compare.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="Where the sample is embedded again.")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def verify_command(collection: str, encoder: str | None, sample: int, seed: int, device: str, store: StoreLocation,
                   as_json: bool) -> None:
    """Check stored vectors against their sources.

    Embeds a random sample of stored points again and compares; counts the dataset's samples without a vector.
    Exits 1 when a stored vector differs."""
    from embedkit.ingestion.verify import verify  # imports torch: only when the command runs

    with store.open() as opened:
        report = verify(collection, encoder=encoder, sample=sample, seed=seed, store=opened, device=device)
    if as_json:
        print_json({"collection": report.collection, "vector": report.vector_name, "checked": report.checked,
                    "differing": [{"sample_id": i, "cosine": c} for i, c in report.differing],
                    "unreadable": report.unreadable, "missing": report.missing, "ok": report.ok})
    else:
        console = Console(stderr=True)
        for sample_id, cosine in report.differing[:20]:
            console.print(f"  differs: {sample_id} (cosine {cosine:.4f} with what its source embeds to now)",
                          highlight=False)
        console.print(f"{report.collection} / {report.vector_name}: {report.checked} points embedded again, "
                      f"{len(report.differing)} differ, {len(report.unreadable)} unreadable now; {report.missing} "
                      f"samples of its datasets have no vector (lost, or left out by --split or --limit)"
                      + ("" if report.ok else "; ingest again to store them right"), highlight=False)
    if not report.ok:
        sys.exit(1)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(verify_command)
