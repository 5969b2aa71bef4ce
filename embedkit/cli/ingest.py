"""`embedkit ingest`: fill a collection with a dataset's vectors."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from embedkit.cli.options import (BATCH_SIZE, WORKERS, EncoderChoice, StoreLocation, data_dir_option, dataset_options,
                                  encoder_options, parse_options, reading_options, record_options, store_options)
from embedkit.cli.progress import job_progress
from embedkit.cli.signals import terminate_as_interrupt
from embedkit.cli.tables import print_json
from embedkit.datasets import get_dataset
from embedkit.hookspecs import hookimpl
from embedkit.store.collection_options import MAX_REPLICATION_FACTOR, MAX_SHARDS, QUANTIZATIONS, CollectionOptions

if TYPE_CHECKING:
    from embedkit.datasets import Dataset
    from embedkit.ingestion import IngestOptions, IngestProgress, IngestReport
    from embedkit.ingestion.ray import RayIngest

LOCAL_RAY = "local"


def render_report(report: IngestReport, console: Console, unit: str = "images") -> None:
    """What an ingest stored; its speed only when it encoded something (a re-run that found everything stored
    has none), in `unit` (texts for a text field)."""
    speed = f"{report.images_per_second:.1f} {unit}/s" if report.stored else "nothing new to encode"
    console.print(
        f"[bold]{report.collection}[/] / {report.vector_name}: stored {report.stored}"
        + (f" ({report.changed} changed since embedded)" if report.changed else "")
        + f", already there {report.already_stored}, failed {len(report.failures)}, "
        + (f"pruned {report.pruned}, " if report.pruned else "")
        + f"in {report.seconds:.1f} s ({speed}"
        + (f"; index build {report.index_seconds:.1f} s" if report.index_seconds >= 0.1 else "") + ")"
        + (" [yellow]— interrupted; run again to finish[/]" if report.interrupted else ""),
        highlight=False, soft_wrap=True,
    )
    for failure in report.failures[:20]:
        said = failure.sample_id in failure.reason  # the reason names the sample and its file itself
        console.print(f"  skipped: {failure.reason}" if said else
                      f"  skipped {failure.sample_id} ({failure.source}): {failure.reason}", highlight=False,
                      soft_wrap=True)
    if len(report.failures) > 20:
        console.print(f"  … and {len(report.failures) - 20} more (--json lists them all)")


@dataclass(frozen=True)
class DatasetChoice:
    """The dataset a command was asked for, and which of its samples: a split, the first N."""

    name: str
    split: str | None = None
    limit: int | None = None
    data_dir: Path | None = None
    options: tuple[str, ...] = ()
    """-O KEY=VALUE pairs."""

    def load(self) -> Dataset:
        return get_dataset(self.name, data_dir=self.data_dir, **parse_options(self.options))


@dataclass(frozen=True)
class IngestChoices:
    """How images are read and what the ingest may change in the collection beside adding vectors."""

    strict: bool = False
    background: str = "white"
    full_decode: bool = False
    add_dataset: bool = False
    prune: bool = False

    def options(self, ray: RayIngest | None, layout: CollectionOptions) -> IngestOptions:
        """The Python API's options, with Ray and the layout of a new collection (only when given)."""
        from embedkit.ingestion import IngestOptions

        return IngestOptions(strict=self.strict, background=self.background, reduced_decoding=not self.full_decode,
                             add_dataset=self.add_dataset, prune_missing=self.prune, ray=ray,
                             collection_options=None if layout == CollectionOptions() else layout)


@dataclass(frozen=True)
class RayChoice:
    """--ray [ADDRESS], --ray-actors and --ray-batch-size."""

    address: str | None = None
    """None: not on Ray; LOCAL_RAY: on a local Ray started for the run."""
    actors: int = 1
    batch_size: int | None = None

    def ingest_options(self) -> RayIngest | None:
        """The Ray options of the Python API, checked as far as can be before the dataset is read."""
        if self.address is None:
            return None
        from embedkit.ingestion.ray import RayIngest, prepare_ray

        ray = RayIngest(address=None if self.address == LOCAL_RAY else self.address, actors=self.actors,
                        batch_size=self.batch_size)
        prepare_ray(ray)
        return ray


dataset_choice = record_options(DatasetChoice, "dataset", [
    click.argument("dataset"),
    click.option("--split", default=None, help="Only this split (default: all)."),
    click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N samples."),
    data_dir_option,
    dataset_options,
], renamed={"name": "dataset"})

ingest_choices = record_options(IngestChoices, "choices", [
    click.option("--strict", is_flag=True, help="Stop at the first unreadable image instead of skipping it."),
    reading_options,
    click.option("--add-dataset", is_flag=True,
                 help="Add this dataset to a collection that holds another: their class indexes mix, and samples "
                      "with the same id (folder/cat/1.jpg of two folders) replace each other."),
    click.option("--prune", is_flag=True, help="Delete the points of samples the dataset no longer has."),
])

ray_choice = record_options(RayChoice, "ray", [
    click.option("--ray", "ray_address", is_flag=False, flag_value=LOCAL_RAY, default=None, metavar="[ADDRESS]",
                 help="Decode and embed on Ray Data (pip install \"embedkit[ray]\"): alone, on a local Ray started for "
                      "the run; with an ADDRESS (auto, ray://HOST:10001), on that cluster."),
    click.option("--ray-actors", type=click.IntRange(1, 10_000), default=1, show_default=True,
                 help="Embedding actors on Ray, each with the encoder (and a GPU where the cluster has them)."),
    click.option("--ray-batch-size", type=BATCH_SIZE, default=None, help="Images per Ray batch (default: --batch-size)."),
], renamed={"address": "ray_address", "actors": "ray_actors", "batch_size": "ray_batch_size"})

layout_options = record_options(CollectionOptions, "layout", [
    click.option("--shards", type=click.IntRange(1, MAX_SHARDS), default=None,
                 help="Shards of a new collection on a Qdrant server (cluster)."),
    click.option("--replication", type=click.IntRange(1, MAX_REPLICATION_FACTOR), default=None,
                 help="Copies of each shard of a new collection on a Qdrant cluster."),
    click.option("--on-disk", is_flag=True, help="Keep a new collection's vectors on disk (memory-mapped), not in RAM."),
    click.option("--quantization", type=click.Choice(QUANTIZATIONS), default=None,
                 help="Quantize a new collection's vectors (kept in RAM, searched first; the full vectors rescore): "
                      "scalar (int8, 4 x smaller), binary (1 bit, 32 x smaller) or product (16 x smaller); "
                      "`embedkit bench --quantization` measures them."),
], renamed={"replication_factor": "replication"})


@click.command("ingest")
@dataset_choice
@encoder_options
@click.option("--batch-size", type=BATCH_SIZE, default=64, show_default=True)
@click.option("--workers", type=WORKERS, default=None,
              help="Processes decoding images while the encoder runs (0: in this process). Default: decided "
                   "from the first batch, in this process when decoding costs little next to the encoder, else "
                   "its share of the cores.")
@click.option("--collection", "-c", default=None, help="Collection name (default: the dataset's name).")
@store_options
@click.option("--text-field", default=None,
              help="Embed this text column (e.g. a manifest's caption) with a text encoder, instead of the images.")
@ingest_choices
@ray_choice
@layout_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def ingest_command(dataset: DatasetChoice, encoder: EncoderChoice, batch_size: int, workers: int | None,
                   collection: str | None, store: StoreLocation, text_field: str | None, choices: IngestChoices,
                   ray: RayChoice, layout: CollectionOptions, as_json: bool) -> None:
    """Embed DATASET and store the vectors.

    Re-runs add only what is missing or changed."""
    from embedkit.ingestion import ingest  # imports torch: only when the command runs, not for --help

    console = Console(stderr=True)
    options = choices.options(ray.ingest_options(), layout)  # Ray refused before the dataset is read
    data = dataset.load()
    for note in data.notes:  # what `datasets check` would say: ignored files, empty class folders
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    model = encoder.build()
    unit = "texts" if text_field else "images"
    with job_progress("ingest", unit, resume="run the same command again: it adds what is missing") as job, \
            terminate_as_interrupt() as termination, store.open() as opened:
        def show(state: IngestProgress) -> None:
            if state.stage == "encoding":
                job.update(state.encoded + state.failed, state.to_encode, stage=f"{data.name} → {model.vector_name}")
            else:  # no count to show
                job.update(0, None, stage=f"{data.name} → {model.vector_name}: {state.stage}")

        report = ingest(data, model, split=dataset.split, limit=dataset.limit, batch_size=batch_size,
                        workers=workers, collection=collection, store=opened, progress=show, text_field=text_field,
                        options=options)
    if as_json:
        print_json({**report.__dict__, "failures": [f.__dict__ for f in report.failures],
                    "images_per_second": report.images_per_second,
                    "precision_choice": model.precision_choice and model.precision_choice.to_json()})
    else:
        render_report(report, Console(), "texts" if text_field else "images")
    if report.interrupted:
        sys.exit(termination.exit_code)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(ingest_command)
