"""`embedkit bench` and `embedkit bench report`: retrieval quality of encoder x dataset pairs."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from embedkit.bench.protocols import LEAVE_ONE_OUT, PROTOCOLS, ProtocolSpec
from embedkit.bench.report import load_results, plot, rows
from embedkit.bench.run import bench
from embedkit.cli.options import (EncoderChoice, StoreLocation, data_dir_option, dataset_options, encoder_options,
                                  parse_options, record_options, store_options)
from embedkit.cli.tables import wide_console
from embedkit.hookspecs import hookimpl

TABLE_WIDTH = 150


def render(results: list[dict], console: Console) -> None:
    """One table per dataset and protocol; store columns only when queries went through the store."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows(results):
        groups.setdefault((row["dataset"], row["protocol"]), []).append(row)
    for (dataset, protocol), members in groups.items():
        with_store = any(row["store_recall@10"] is not None for row in members)
        table = Table(title=f"{dataset}, {protocol}: {members[0]['queries']} queries, relevant = same label")
        table.add_column("encoder", overflow="fold")
        for title in ("dim", "mAP@5", "P@10", "AP", "MAP@R", "img/s", *(("store R@10", "p50 ms") if with_store else ())):
            table.add_column(title, justify="right", no_wrap=True)
        for row in members:
            def number(key, digits=4):
                return "-" if row.get(key) is None else f"{row[key]:.{digits}f}"

            cells = [row["encoder"], str(row["dim"] or "-"), number("mAP@5"), number("P@10"), number("AP"),
                     number("MAP@R"), number("images_per_second", 1)]
            if with_store:
                cells += [number("store_recall@10", 3), number("store_p50_ms", 2)]
            table.add_row(*cells, style="dim" if row["encoder"].startswith("random") else None)
        console.print(table)


protocol_options = record_options(ProtocolSpec, "protocol", [
    click.option("--protocol", type=click.Choice(PROTOCOLS), default=LEAVE_ONE_OUT, show_default=True),
    click.option("--split", default=None, help="Leave-one-out: the split that is both queries and gallery."),
    click.option("--query-split", default="test", show_default=True, help="Split protocol: the queries."),
    click.option("--gallery-split", default="train", show_default=True, help="Split protocol: the gallery."),
])


@click.group("bench", invoke_without_command=True)
@click.option("--datasets", "-d", default="fashion-mnist", show_default=True, help="Comma-separated dataset names.")
@click.option("--encoders", "-e", default="efficientnet-lite0", show_default=True,
              help="Comma-separated encoder names (NAME.random: random weights).")
@protocol_options
@click.option("--queries", type=click.IntRange(min=1), default=None, help="Sample N queries (seeded).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N samples of each split.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--through-store", is_flag=True, help="Also query through the store's index: recall@10 and latency.")
@encoder_options(with_name=False, helps={"weights": "A checkpoint for every encoder (random weights: NAME.random)."})
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--workers", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench-results"), show_default=True,
              help="Folder for one JSON per pair, summary.md and summary.csv.")
@data_dir_option
@dataset_options
@store_options
@click.pass_context
def bench_group(ctx: click.Context, datasets: str, encoders: str, protocol: ProtocolSpec, queries: int | None,
                limit: int | None, seed: int, through_store: bool, encoder: EncoderChoice, batch_size: int,
                workers: int, out: Path, data_dir: Path | None, options: tuple[str, ...], store: StoreLocation) -> None:
    """Score every encoder x dataset pair: mAP@5, P@10, AP.

    Vectors already stored are reused; --weights, --device, --precision, --layer and --image-size apply to every encoder.
    """
    if ctx.invoked_subcommand is not None:
        return
    with store.open() as opened:
        results, failures = bench(
            datasets.split(","), encoders.split(","), **protocol.keywords(), queries=queries, limit=limit,
            seed=seed, through_store=through_store, store=opened, out_dir=out, data_dir=data_dir,
            dataset_options=parse_options(options),
            batch_size=batch_size, workers=workers, **encoder.options())
    console = wide_console(TABLE_WIDTH)
    if results:
        render([r.to_json() for r in results], console)
        console.print(f"results: {out}/ (one JSON per pair, summary.md, summary.csv)", highlight=False)
    for failure in failures:
        Console(stderr=True).print(f"[red]failed:[/] {failure.dataset} x {failure.encoder}: {failure.error}",
                                   highlight=False)
    if failures:
        ctx.exit(1)


@bench_group.command("report")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the Markdown table instead.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None,
              help="Save a bar chart and precision-recall curves to this PNG.")
def report_command(paths: tuple[Path, ...], as_markdown: bool, plot_path: Path | None) -> None:
    """Rebuild the tables from result JSON files (or folders of them)."""
    from embedkit.bench.report import markdown

    results = load_results(paths)
    if as_markdown:
        click.echo(markdown(results), nl=False)
    else:
        render(results, wide_console(TABLE_WIDTH))
    if plot_path is not None:
        plot(results, plot_path)
        click.echo(f"saved {plot_path}", err=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(bench_group)
