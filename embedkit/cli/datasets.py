"""`embedkit datasets`: what can be loaded, getting it, and looking at it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Column, Table

from embedkit.cli.options import WORKERS, data_dir_option, dataset_options, image_file, parse_options
from embedkit.cli.tables import LOCAL_MARKS, entry_row, plugin_label, print_json, wide_console
from embedkit.datasets import Dataset, get_dataset, list_datasets
from embedkit.datasets.locate import data_root
from embedkit.hookspecs import hookimpl
from embedkit.machine import cores_available
from embedkit.registry import Entry

if TYPE_CHECKING:
    from embedkit.datasets.decode import DecodeReport

def dataset_row(entry: Entry, data_dir: Path | None) -> dict[str, Any]:
    present = entry.info.get("present")
    return entry_row(entry, classes=entry.info.get("classes"), size=entry.info.get("size"),
                     splits=list(entry.info.get("splits") or []),
                     local=bool(present(data_dir)) if callable(present) else None)


class DownloadBar:
    """A rich progress bar fed by the datasets' `progress(filename, done, total)` callback."""

    def __init__(self, console: Console):
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                            console=console, transient=True)
        self.tasks: dict[str, Any] = {}

    def __call__(self, filename: str, done: int, total: int | None) -> None:
        if not self.tasks:
            self.bar.start()  # only once a download starts: nothing is drawn when the data is here
        if filename not in self.tasks:
            self.tasks[filename] = self.bar.add_task(filename, total=total)
        self.bar.update(self.tasks[filename], completed=done, total=total)

    def __enter__(self) -> DownloadBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tasks:
            self.bar.stop()


def open_dataset(name: str, data_dir: Path | None, download: bool, options: tuple[str, ...],
                 console: Console, mirror: str | None = None) -> Dataset:
    given = {**parse_options(options), **({"mirror": mirror} if mirror else {})}
    with DownloadBar(console) as bar:
        return get_dataset(name, data_dir=data_dir, download=download, progress=bar, **given)


def print_notes(dataset: Dataset, console: Console) -> None:
    for note in dataset.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def print_report(report: DecodeReport, console: Console) -> None:
    for line in report.details():
        console.print(f"[yellow]skipped:[/] {line}", highlight=False, soft_wrap=True)
    console.print(report.summary(), highlight=False)


@click.group("datasets", invoke_without_command=True)
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def datasets_command(ctx: click.Context, data_dir: Path | None, as_json: bool) -> None:
    """List the datasets and whether they are here.

    With their classes and images."""
    if ctx.invoked_subcommand is not None:
        return
    rows = [dataset_row(entry, data_dir) for entry in list_datasets()]
    if as_json:
        print_json(rows)
        return
    titles = ("name", "classes", "images", "splits", "local", "plugin")
    table = Table(*(Column(title, no_wrap=True) for title in titles),
                  "description", box=box.SIMPLE_HEAD)
    for row in rows:
        table.add_row(row["name"], str(row["classes"] or "-"), f"{row['size']:,}" if row["size"] else "-",
                      "/".join(row["splits"]) or "-", LOCAL_MARKS[row["local"]], plugin_label(row["plugin"]),
                      row["description"])
    console = wide_console()
    console.print(table)
    console.print(f"data folder: {data_root(data_dir)}", highlight=False)


@datasets_command.command("download")
@click.argument("name")
@data_dir_option
@click.option("--mirror", default=None, help="Base URL to download from instead of the official source.")
@dataset_options
@click.option("--json", "as_json", is_flag=True, help="Print what is here as JSON on stdout.")
def download_command(name: str, data_dir: Path | None, mirror: str | None, options: tuple[str, ...],
                     as_json: bool) -> None:
    """Download dataset NAME and prepare it for reading.

    Nothing is fetched when it is already here."""
    console = Console(stderr=True)
    dataset = open_dataset(name, data_dir, True, options, console, mirror)
    print_notes(dataset, console)
    if as_json:
        print_json({"name": dataset.name, "images": len(dataset), "classes": len(dataset.classes),
                    "splits": list(dataset.splits), "source": dataset.source_description(), "notes": dataset.notes})
        return
    click.echo(f"{dataset.name}: {len(dataset):,} images, {len(dataset.classes)} classes; "
               f"{dataset.source_description()}")


@datasets_command.command("show")
@click.argument("name")
@click.option("--split", default=None, help="Only this split (default: all).")
@click.option("--grid", type=click.Path(path_type=Path), default=None, callback=image_file,
              help="Save a contact sheet (one row per class) to this PNG file.")
@click.option("--per-class", type=click.IntRange(1, 100), default=8, show_default=True,
              help="Images per class on the contact sheet.")
@click.option("--strict", is_flag=True, help="Fail on the first unreadable image instead of skipping it.")
@click.option("--download/--no-download", default=True, show_default=True,
              help="Download the dataset when it is not here.")
@data_dir_option
@dataset_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def show_command(name: str, split: str | None, grid: Path | None, per_class: int, strict: bool, download: bool,
                 data_dir: Path | None, options: tuple[str, ...], as_json: bool) -> None:
    """Show a dataset's source, classes and splits.

    The images of each class per split of dataset NAME."""
    console = wide_console(stderr=as_json)
    dataset = open_dataset(name, data_dir, download, options, Console(stderr=True))
    splits = [split] if split else list(dataset.splits)
    counts = {s: dataset.view(s).counts() for s in splits}
    if as_json:
        print_json({"name": dataset.name, "source": dataset.source_description(), "classes": dataset.classes,
                    "splits": splits, "counts": counts, "notes": dataset.notes})
    else:
        console.print(f"[bold]{dataset.name}[/]: {dataset.source_description()}", highlight=False)
        table = Table("class", *(Column(s, justify="right") for s in splits), box=box.SIMPLE_HEAD)
        names = dataset.classes + ([""] if any("" in c for c in counts.values()) else [])
        for class_name in names:
            table.add_row(class_name or "(unlabelled)", *(f"{counts[s].get(class_name, 0):,}" for s in splits))
        table.add_row("[bold]total[/]", *(f"[bold]{sum(counts[s].values()):,}[/]" for s in splits))
        console.print(table)
    print_notes(dataset, Console(stderr=True))
    if grid is not None:
        from embedkit.datasets.grid import contact_sheet  # decoding imports torch: only when a sheet is drawn

        sheet = contact_sheet(dataset.view(split), per_class=per_class, strict=strict)
        sheet.image.save(grid)
        err = Console(stderr=True)
        if sheet.report.skipped:
            print_report(sheet.report, err)
        err.print(f"wrote a contact sheet of {len(sheet.rows)} rows x {per_class} images to {grid}", highlight=False)


@datasets_command.command("check")
@click.argument("name")
@click.option("--split", default=None, help="Only this split (default: all).")
@click.option("--strict", is_flag=True, help="Fail on the first unreadable image instead of skipping it.")
@click.option("--workers", type=WORKERS, default=None,
              help="Processes that decode images (default: one per core available).")
@click.option("--download/--no-download", default=True, show_default=True)
@data_dir_option
@dataset_options
@click.option("--json", "as_json", is_flag=True, help="Print the counts and the unreadable images as JSON on stdout.")
def check_command(name: str, split: str | None, strict: bool, workers: int | None, download: bool,
                  data_dir: Path | None, options: tuple[str, ...], as_json: bool) -> None:
    """Decode every image; list the unreadable ones.

    Each by id and path, with a count, for dataset NAME. Exits with 1 when an image cannot be read."""
    console = Console(stderr=True)
    dataset = open_dataset(name, data_dir, download, options, console)
    print_notes(dataset, console)
    from embedkit.datasets.decode import DecodeReport, decode  # imports torch: only when images are decoded

    report = DecodeReport()
    workers = cores_available() if workers is None else workers
    for _ in decode(dataset.view(split), batch_size=64, num_workers=workers, strict=strict, report=report):
        pass
    if as_json:
        print_json({"name": dataset.name, "split": split, "read": report.read, "skipped": [
            {"sample_id": item.id, "source": item.source, "reason": item.reason} for item in report.skipped],
            "notes": dataset.notes})
    else:
        print_report(report, console)
    if report.skipped:
        sys.exit(1)  # scripts and CI can tell a dataset with unreadable images from a sound one


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(datasets_command)
