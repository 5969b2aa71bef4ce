"""`embedkit bench` and `embedkit bench report`: retrieval quality of encoder x dataset pairs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from embedkit.bench.protocols import LEAVE_ONE_OUT, PROTOCOLS
from embedkit.bench.report import check_plot, check_plot_path, limit_cut, load_results, plot, rows
from embedkit.bench.spec import BuildSpec, QuerySpec
from embedkit.bench.tasks import RETRIEVAL, parse_tasks
from embedkit.cli.bench_tasks import render_tasks
from embedkit.cli.options import (BATCH_SIZE, SEED, WORKERS, EncoderChoice, StoreLocation, data_dir_option,
                                  dataset_options, encoder_options, out_dir_option, parse_options, record_options,
                                  store_options)
from embedkit.cli.progress import JobProgress, job_progress
from embedkit.cli.tables import print_json, wide_console
from embedkit.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedkit.bench.run import BenchResult
    from embedkit.ingestion import IngestProgress

TABLE_WIDTH = 150
QUICK_LIMIT = 1000
"""Samples of each split a bare `embedkit bench` uses: a minute or two on a CPU; --full uses every sample."""

COLUMNS = (  # (title, row key, digits); the metrics a row has
    ("dim", "dim", None), ("mAP@5", "mAP@5", 4), ("P@10", "P@10", 4), ("hit@10", "hit@10", 4), ("AP", "AP", 4), ("MAP@R", "MAP@R", 4),
    ("img/s", "images_per_second", 1), ("store\nR@10", "store_recall@10", 3), ("store\np50 ms", "store_p50_ms", 2),
)
NARROW_DROPS = ("img/s", "dim", "hit@10", "MAP@R", "store\np50 ms", "store\nR@10")
"""The columns left out, in this order, while a table is wider than the console: the encoder's name and
mAP@5, P@10 and AP always stay."""


def render(results: list[dict], console: Console) -> None:
    """One table per dataset, protocol and number of queries; a column only when some row has a value in it
    (store figures: queries went through the store; img/s: this run encoded images)."""
    groups: dict[tuple[str, str, int], list[dict]] = {}
    for row in rows(results):
        groups.setdefault((row["dataset"], row["protocol"], row["queries"]), []).append(row)
    hidden: dict[str, None] = {}  # in the order they were left out
    for (dataset, protocol, queries), members in groups.items():
        shown = [c for c in COLUMNS if any(row.get(c[1]) is not None for row in members if not _baseline(row))]
        title = f"{dataset}, {protocol}: {queries} queries, relevant = same label"
        table = _table(title, members, shown)
        for dropped in NARROW_DROPS:
            if console.measure(table, options=console.options.update_width(10_000)).maximum <= console.width:
                break
            if any(c[0] == dropped for c in shown):
                shown = [c for c in shown if c[0] != dropped]
                hidden[dropped.replace("\n", " ")] = None
                table = _table(title, members, shown)
        console.print(table)
    if hidden:
        console.print(f"[dim]not shown at {console.width} columns: {', '.join(hidden)} (a wider terminal or "
                      f"--json shows them)[/]", highlight=False)


def render_reranks(results: list[dict], console: Console) -> None:
    """One table of the re-ranking variants' gains over plain cosine and their cost, when a run scored any."""
    scored = [r for r in results if len(r.get("reranks") or {}) > 1]
    if not scored:
        return
    table = Table(title="re-ranking: gain over plain cosine (the same queries), cost per query")
    for heading in ("dataset", "encoder", "method", "ΔmAP@5", "ΔP@10", "ΔAP", "ΔMAP@R", "ms/query"):
        table.add_column(heading, justify="left" if heading in ("dataset", "encoder", "method") else "right",
                         overflow="fold")
    for result in scored:
        for method, variant in result["reranks"].items():
            gain = variant["gain"]
            table.add_row(result["dataset"], result["encoder"], method,
                          *(f"{gain[key]:+.4f}" for key in ("map@5", "p@10", "ap", "map@r")),
                          f"{variant['ms_per_query']:.2f}")
    console.print(table)


def render_quantization(results: list[dict], console: Console) -> None:
    """One table of the quantizations measured: per kind and search, the store figures and bytes per point."""
    scored = [r for r in results if r.get("quantization")]
    if not scored:
        return
    table = Table(title="quantization: the gallery in a temporary embedded store per kind, searched through its index")
    for heading in ("dataset", "encoder", "kind", "search", "R@10 vs\nexact", "mAP@5", "P@10", "vector\nB/point",
                    "quantized\nB/point", "p50 ms"):
        table.add_column(heading, justify="left" if heading in ("dataset", "encoder", "kind", "search") else "right",
                         overflow="fold")
    for result in scored:
        for kind, measured in result["quantization"].items():
            quantized = f"{measured['quantized_bytes_per_point']:.0f}" if measured["quantized_built"] else "-"
            for name, found in measured["searches"].items():
                table.add_row(result["dataset"], result["encoder"], kind, name, f"{found['recall@10_vs_exact']:.3f}",
                              f"{found['map@5']:.4f}", f"{found['p@10']:.4f}",
                              f"{measured['vectors_bytes_per_point']:.0f}", quantized,
                              f"{found['latency_p50_ms']:.2f}")
    console.print(table)
    if any(not m["quantized_built"] for r in scored for k, m in r["quantization"].items() if k != "none"):
        console.print("[yellow]a gallery under Qdrant's indexing threshold (10 MB of vectors) is not indexed nor "
                      "quantized: its figures are the full vectors'[/]", highlight=False)


def _baseline(row: dict) -> bool:
    return row["encoder"] == "random (expected)"


def _table(title: str, members: list[dict], columns: list[tuple[str, str, int | None]]) -> Table:
    table = Table(title=title)
    table.add_column("encoder", overflow="fold")
    for heading, _, _ in columns:
        table.add_column(heading, justify="right", no_wrap=True)
    for row in members:
        cells = [row["encoder"]]
        for _, key, digits in columns:
            value = row.get(key)
            cells.append("-" if value is None else str(value) if digits is None else f"{value:.{digits}f}")
        table.add_row(*cells, style="dim" if _baseline(row) else None)
    return table


@dataclass(frozen=True)
class QueryChoice:
    """The query-time options of `embedkit bench`: the protocol and its splits, queries, seed, --through-store,
    --tasks."""

    protocol: str = LEAVE_ONE_OUT
    split: str | None = None
    query_split: str | None = None
    gallery_split: str | None = None
    queries: int | None = None
    seed: int = 0
    through_store: bool = False
    tasks: str = RETRIEVAL
    """Comma-separated task names."""
    rerank: str | None = None
    """Comma-separated re-ranking names."""
    quantization: str | None = None
    """Comma-separated quantization kinds."""

    def spec(self) -> QuerySpec:
        """The Python API's query spec; the query and gallery splits only for the split protocol."""
        split_protocol = self.protocol != LEAVE_ONE_OUT
        return QuerySpec(protocol=self.protocol, split=self.split,
                         query_split=self.query_split if split_protocol else None,
                         gallery_split=self.gallery_split if split_protocol else None,
                         queries=self.queries, seed=self.seed, through_store=self.through_store,
                         tasks=parse_tasks(self.tasks),
                         reranks=tuple(name.strip() for name in self.rerank.split(",")) if self.rerank else (),
                         quantizations=tuple(name.strip() for name in self.quantization.split(","))
                         if self.quantization else ())


@dataclass(frozen=True)
class BuildChoice:
    """The build-time options of `embedkit bench`: how each pair's vectors are made."""

    batch_size: int = 64
    workers: int | None = None
    data_dir: Path | None = None
    options: tuple[str, ...] = ()
    """-O KEY=VALUE pairs, for every dataset."""

    def spec(self) -> BuildSpec:
        return BuildSpec(batch_size=self.batch_size, workers=self.workers, data_dir=self.data_dir,
                         dataset_options=parse_options(self.options))


query_options = record_options(QueryChoice, "query", [
    click.option("--protocol", type=click.Choice(PROTOCOLS), default=LEAVE_ONE_OUT, show_default=True),
    click.option("--split", default=None, help="Leave-one-out: the split that is both queries and gallery (default: all splits)."),
    click.option("--query-split", default="test", show_default=True, help="Split protocol: the queries."),
    click.option("--gallery-split", default="train", show_default=True, help="Split protocol: the gallery."),
    click.option("--queries", type=click.IntRange(min=1), default=None, help="Sample N queries (seeded)."),
    click.option("--seed", type=SEED, default=0, show_default=True),
    click.option("--through-store", is_flag=True, help="Also query through the store's index: recall@10 and latency."),
    click.option("--tasks", default="retrieval", show_default=True,
                 help="Comma-separated: retrieval, knn, linear, clustering (scored on the same stored vectors)."),
    click.option("--rerank", default=None,
                 help="Comma-separated re-rankings scored beside plain cosine: none, aqe, alpha-qe, k-reciprocal, "
                      "rocchio (simulated feedback from the labels); their gain and ms/query. docs/bench.md."),
    click.option("--quantization", default=None,
                 help="Comma-separated Qdrant quantizations measured on the gallery in temporary stores: none, "
                      "scalar, binary, product; recall@10 against exact, mAP@5, bytes per point, p50 ms, each "
                      "without rescoring, rescored, and rescored after oversampling. docs/bench.md."),
])

build_options = record_options(BuildChoice, "build", [
    click.option("--batch-size", type=BATCH_SIZE, default=64, show_default=True),
    click.option("--workers", type=WORKERS, default=None,
                 help="Processes decoding images while the encoder runs (0: in this process). Default: decided "
                      "from the first batch, in this process when decoding costs little next to the encoder, else "
                      "its share of the cores."),
    data_dir_option,
    dataset_options,
])


@click.group("bench", invoke_without_command=True)
@click.option("--datasets", "-d", default="fashion-mnist", show_default=True, help="Comma-separated dataset names.")
@click.option("--encoders", "-e", default="efficientnet-lite0", show_default=True,
              help="Comma-separated encoder names (NAME.random: random weights).")
@query_options
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help=f"Only the first N samples of each split  [default: {QUICK_LIMIT}, a quick run]")
@click.option("--full", is_flag=True, help="Every sample of each split: the whole protocol (Fashion-MNIST: 70,000 "
                                           "images, an hour or more on a CPU).")
@encoder_options(with_name=False, helps={"weights": "A checkpoint for every encoder (random weights: NAME.random)."})
@build_options
@out_dir_option(Path("bench-results"), "Folder for one JSON per pair, summary.md and summary.csv.", name="out")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout (as the result files).")
@store_options
@click.pass_context
def bench_group(ctx: click.Context, datasets: str, encoders: str, query: QueryChoice, limit: int | None, full: bool,
                encoder: EncoderChoice, build: BuildChoice, out: Path, as_json: bool, store: StoreLocation) -> None:
    """Score every encoder x dataset pair: mAP@5, P@10, AP.

    A quick run by default (the first 1000 samples of each split); --full for the whole protocol.
    Vectors already stored are reused; --weights, --device, --precision, --layer and --image-size apply to every encoder.
    """
    if ctx.invoked_subcommand is not None:
        return
    from embedkit.bench.run import bench  # imports torch: only when a bench runs, not for --help
    from embedkit.encoders import encoder_entry

    if full and limit is not None:
        raise click.UsageError("--full uses every sample and --limit the first N: give one of them")
    dataset_names, encoder_names = name_list(datasets, "--datasets"), name_list(encoders, "--encoders")
    query_spec = query.spec()
    for name in encoder_names:  # a misspelt name is refused before hours of work, not reported after them
        encoder_entry(name)
    quick = not full and limit is None
    errors = Console(stderr=True)
    with job_progress("bench", "images", resume=f"each pair measured is in {out}/; run the same command again: "
                                                 f"stored vectors are reused") as job, store.open() as opened:
        results, failures = bench(
            dataset_names, encoder_names, limit=None if full else limit or QUICK_LIMIT, store=opened, out_dir=out,
            progress=EncodingProgress(job), measuring=job, query=query_spec, build=build.spec(), **encoder.options())
    if as_json:
        print_json({"results": [r.to_json() for r in results], "failures": [asdict(f) for f in failures],
                    "out": str(out)})
    elif results:
        console = wide_console(TABLE_WIDTH)
        if RETRIEVAL in query_spec.tasks:
            render([r.to_json() for r in results], console)
        render_tasks([r.to_json() for r in results], console)
        render_reranks([r.to_json() for r in results], console)
        render_quantization([r.to_json() for r in results], console)
        console.print(f"results: {out}/ (one JSON per pair, summary.md, summary.csv)", highlight=False)
    if quick:
        quick_run_note(results, errors)
    for failure in failures:
        errors.print(f"[red]failed:[/] {failure.dataset} x {failure.encoder}: {failure.error}", highlight=False)
    if failures:
        ctx.exit(1)


def name_list(text: str, option: str) -> list[str]:
    """The comma-separated names of an option, none of them empty. (An unknown name is a failed pair: the
    others run.)"""
    names = text.split(",")
    if not all(name.strip() for name in names):
        raise click.BadParameter(f"{text!r} has an empty name; separate names with single commas",
                                 param_hint=f"'{option}'")
    return names


class EncodingProgress:
    """bench's `progress` shown by the command's JobProgress: a stage for each split a pair has to encode, with its
    images/s and the time left, then one while it is measured."""

    def __init__(self, job: JobProgress):
        self.job = job

    def __call__(self, dataset: str, vector: str, split: str | None, state: IngestProgress) -> None:
        pair, done = f"{vector}, {dataset}", state.encoded + state.failed
        if done < state.to_encode:
            self.job.update(done, state.to_encode, stage=f"encoding {pair}" + (f" {split}" if split else ""))
        else:  # the index, then the scores (of the pair, not of the split encoded last): no count to show
            self.job.update(0, None, stage=f"measuring {pair}")


def quick_run_note(results: list[BenchResult], console: Console) -> None:
    """Say that the default limit left samples out, how to use them all, and how long that would take at the
    speed this run encoded at (when it encoded anything)."""
    cut = [r for r in results if limit_cut(r.to_json()) is not None]
    if not cut:
        return
    sizes = {r.dataset: sum(r.provenance["dataset"]["available"]) for r in cut}
    timed = [r for r in cut if r.images_per_second]
    seconds = sum((sizes[r.dataset] - r.provenance["dataset"]["count"]) / r.images_per_second for r in timed)
    estimate = f"; about {duration(seconds)} at this run's images/s" if timed and len(timed) == len(cut) else ""
    console.print(f"[yellow]quick run:[/] the first {QUICK_LIMIT} samples of each split (the default --limit); "
                  f"--full runs the whole protocol ({', '.join(f'{n}: {c:,} samples' for n, c in sizes.items())}"
                  f"{estimate}), --limit N another size", highlight=False)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 90 * 60 else f"{seconds / 3600:.1f} h"


@bench_group.command("report")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the Markdown table instead.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None,
              help="Save a bar chart and precision-recall curves to this PNG.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout (as the result files).")
def report_command(paths: tuple[Path, ...], as_markdown: bool, plot_path: Path | None, as_json: bool) -> None:
    """Rebuild the tables from result JSON files (or folders of them)."""
    from embedkit.bench.report import markdown

    if as_markdown and as_json:
        raise click.UsageError("--markdown and --json are two ways to print the table: give one of them")
    if plot_path is not None:
        check_plot_path(plot_path)  # before any file is read
    results = load_results(paths)
    if plot_path is not None:
        check_plot(results, plot_path)  # before any table is printed
    if as_json:
        print_json({"results": results})
    elif as_markdown:
        click.echo(markdown(results), nl=False)
    else:
        console = wide_console(TABLE_WIDTH)
        render(results, console)
        render_tasks(results, console)
        render_reranks(results, console)
        render_quantization(results, console)
    if plot_path is not None:
        plot(results, plot_path)
        click.echo(f"saved {plot_path}", err=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(bench_group)
