"""`embedkit ingest`: fill a collection with a dataset's vectors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from embedkit.cli.options import (BATCH_SIZE, WORKERS, EncoderChoice, StoreLocation, data_dir_option, dataset_options,
                                  encoder_options, parse_options, reading_options, store_options)
from embedkit.cli.signals import terminate_as_interrupt
from embedkit.cli.tables import print_json
from embedkit.datasets import get_dataset
from embedkit.hookspecs import hookimpl
from embedkit.store.collection_options import MAX_REPLICATION_FACTOR, MAX_SHARDS, QUANTIZATIONS, CollectionOptions

if TYPE_CHECKING:
    from embedkit.ingestion import IngestProgress, IngestReport

LOCAL_RAY = "local"


def render_report(report: IngestReport, console: Console) -> None:
    console.print(
        f"[bold]{report.collection}[/] / {report.vector_name}: stored {report.stored}"
        + (f" ({report.changed} changed since embedded)" if report.changed else "")
        + f", already there {report.already_stored}, failed {len(report.failures)}, "
        + (f"pruned {report.pruned}, " if report.pruned else "")
        + f"in {report.seconds:.1f} s ({report.images_per_second:.1f} images/s"
        + (f"; index build {report.index_seconds:.1f} s" if report.index_seconds >= 0.1 else "") + ")"
        + (" [yellow]— interrupted; run again to finish[/]" if report.interrupted else ""),
        highlight=False,
    )
    for failure in report.failures[:20]:
        console.print(f"  skipped {failure.sample_id} ({failure.source})", highlight=False)
    if len(report.failures) > 20:
        console.print(f"  … and {len(report.failures) - 20} more (--json lists them all)")


@click.command("ingest")
@click.argument("dataset")
@encoder_options
@click.option("--split", default=None, help="Only this split (default: all).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N samples.")
@click.option("--batch-size", type=BATCH_SIZE, default=64, show_default=True)
@click.option("--workers", type=WORKERS, default=None,
              help="Processes decoding images while the encoder runs (0: in this process). Default: decided "
                   "from the first batch, in this process when decoding costs little next to the encoder, else "
                   "its share of the cores.")
@click.option("--collection", "-c", default=None, help="Collection name (default: the dataset's name).")
@store_options
@data_dir_option
@click.option("--strict", is_flag=True, help="Stop at the first unreadable image instead of skipping it.")
@click.option("--text-field", default=None,
              help="Embed this text column (e.g. a manifest's caption) with a text encoder, instead of the images.")
@reading_options
@dataset_options
@click.option("--add-dataset", is_flag=True,
              help="Add this dataset to a collection that holds another: their class indexes mix, and samples "
                   "with the same id (folder/cat/1.jpg of two folders) replace each other.")
@click.option("--prune", is_flag=True, help="Delete the points of samples the dataset no longer has.")
@click.option("--ray", "ray_address", is_flag=False, flag_value=LOCAL_RAY, default=None, metavar="[ADDRESS]",
              help="Decode and embed on Ray Data (pip install \"embedkit[ray]\"): alone, on a local Ray started for "
                   "the run; with an ADDRESS (auto, ray://HOST:10001), on that cluster.")
@click.option("--ray-actors", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="Embedding actors on Ray, each with the encoder (and a GPU where the cluster has them).")
@click.option("--ray-batch-size", type=BATCH_SIZE, default=None, help="Images per Ray batch (default: --batch-size).")
@click.option("--shards", type=click.IntRange(1, MAX_SHARDS), default=None,
              help="Shards of a new collection on a Qdrant server (cluster).")
@click.option("--replication", type=click.IntRange(1, MAX_REPLICATION_FACTOR), default=None,
              help="Copies of each shard of a new collection on a Qdrant cluster.")
@click.option("--on-disk", is_flag=True, help="Keep a new collection's vectors on disk (memory-mapped), not in RAM.")
@click.option("--quantization", type=click.Choice(QUANTIZATIONS), default=None,
              help="Quantize a new collection's vectors (kept in RAM, searched first; the full vectors rescore): "
                   "scalar (int8, 4 x smaller) or binary (1 bit, 32 x smaller).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def ingest_command(dataset: str, encoder: EncoderChoice, split: str | None, limit: int | None, batch_size: int,
                   workers: int | None, collection: str | None, store: StoreLocation, data_dir: Path | None,
                   strict: bool, text_field: str | None, background: str, full_decode: bool, options: tuple[str, ...],
                   add_dataset: bool, prune: bool, ray_address: str | None, ray_actors: int,
                   ray_batch_size: int | None, shards: int | None, replication: int | None, on_disk: bool,
                   quantization: str | None, as_json: bool) -> None:
    """Embed DATASET and store the vectors.

    Re-runs add only what is missing or changed."""
    from embedkit.ingestion import ingest  # imports torch: only when the command runs, not for --help
    from embedkit.ingestion.ray import RayIngest, prepare_ray

    console = Console(stderr=True)
    ray = None
    if ray_address is not None:
        ray = RayIngest(address=None if ray_address == LOCAL_RAY else ray_address, actors=ray_actors,
                        batch_size=ray_batch_size)
        prepare_ray(ray)  # before the dataset is read
    layout = CollectionOptions(shards=shards, replication_factor=replication, on_disk=on_disk,
                               quantization=quantization)
    data = get_dataset(dataset, data_dir=data_dir, **parse_options(options))
    for note in data.notes:  # what `datasets check` would say: ignored files, empty class folders
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    model = encoder.build()
    with terminate_as_interrupt() as termination, store.open() as opened, Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                          TextColumn("{task.fields[rate]:.1f} images/s"), TimeRemainingColumn(),
                                          console=console, transient=True, disable=as_json) as bar:
        task = bar.add_task(f"{data.name} → {model.vector_name}", total=None, rate=0.0)

        def show(state: IngestProgress) -> None:
            bar.update(task, total=state.to_encode, completed=state.encoded + state.failed,
                       rate=state.images_per_second)

        report = ingest(data, model, split=split, limit=limit, batch_size=batch_size, workers=workers,
                        collection=collection, store=opened, strict=strict, progress=show,
                        text_field=text_field, background=background, reduced_decoding=not full_decode,
                        add_dataset=add_dataset, prune_missing=prune, ray=ray,
                        collection_options=None if layout == CollectionOptions() else layout)
    if as_json:
        print_json({**report.__dict__, "failures": [f.__dict__ for f in report.failures],
                    "images_per_second": report.images_per_second,
                    "precision_choice": model.precision_choice and model.precision_choice.to_json()})
    else:
        render_report(report, Console())
    if report.interrupted:
        sys.exit(termination.exit_code)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(ingest_command)
