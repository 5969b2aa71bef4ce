"""`embedkit collections`, `export` and `push`: what is stored, and getting it out."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich import box
from rich.table import Column, Table

from embedkit.cli.options import BATCH_SIZE, StoreLocation, out_file_option, required_out, store_options
from embedkit.cli.progress import job_progress
from embedkit.cli.tables import print_json
from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.store.export import export
from embedkit.store.push import push


@click.group("collections", invoke_without_command=True)
@store_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def collections_group(ctx: click.Context, store: StoreLocation, as_json: bool) -> None:
    """List the collections, their points and vectors."""
    ctx.obj = store
    if ctx.invoked_subcommand is not None:
        return
    with store.open() as opened:
        infos = opened.collections()
        location = opened.location
        unindexed = [info.name for info in infos if opened.index_unfinished(info.name)]
    if as_json:
        print_json([{"name": i.name, "points": i.points, "default_vector": i.default_vector,
                     "index_unfinished": i.name in unindexed, "half_written": i.half_written, "vectors": {
            n: {"dim": v.dim, "points": v.points, "encoder": v.record.encoder if v.record else None}
            for n, v in i.vectors.items()}} for i in infos])
        return
    table = Table(Column("collection / vector", overflow="fold"), Column("dim", justify="right"),
                  Column("points", justify="right"), title=f"collections in {location}", box=box.SIMPLE_HEAD,
                  pad_edge=False, show_edge=False)
    for info in infos:
        table.add_row(f"[bold]{info.name}[/]", "", f"{info.points:,}")
        for name, summary in info.vectors.items():
            shown = f"{name} (default)" if name == info.default_vector and len(info.vectors) > 1 else name
            table.add_row(f"  {shown}", str(summary.dim), f"{summary.points:,}")
    Console().print(table)
    for line in (line for info in infos for line in info.half_written):
        Console(stderr=True).print(f"[yellow]note:[/] {escape(line)}", highlight=False)
    for name in unindexed:
        Console(stderr=True).print(f"[yellow]note:[/] {name}: points were written after its index was last built (a "
                                   f"run stopped before building it, or writes through the Python or Qdrant API); "
                                   f"search over them is exact until `embedkit collections index {name}` builds it",
                                   highlight=False)


def chosen_store(ctx: click.Context, store: StoreLocation) -> StoreLocation:
    """Each store option given after the subcommand, else before it (`collections --qdrant X --api-key K drop C`)."""
    before: StoreLocation = ctx.obj
    return StoreLocation(store.qdrant if store.qdrant is not None else before.qdrant, store.grpc or before.grpc,
                         store.api_key or before.api_key)


@collections_group.command("drop")
@click.argument("collection")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@store_options
@click.option("--json", "as_json", is_flag=True, help='Print {"collection": C, "dropped": N points} on stdout.')
@click.pass_context
def drop_command(ctx: click.Context, collection: str, yes: bool, store: StoreLocation, as_json: bool) -> None:
    """Delete COLLECTION and everything in it."""
    with chosen_store(ctx, store).open() as opened:
        opened.check_writable(f"drop collection {collection!r}")  # before asking
        points = opened.count(collection)
        if not yes:
            click.confirm(f"delete collection {collection!r} with {points} points?", abort=True)
        opened.drop(collection)
    if as_json:
        print_json({"collection": collection, "dropped": points})
    else:
        click.echo(f"dropped {collection} ({points} points)", err=True)


@collections_group.command("default")
@click.argument("collection")
@click.argument("vector")
@store_options
@click.pass_context
def default_command(ctx: click.Context, collection: str, vector: str, store: StoreLocation) -> None:
    """Set the vector queries use when they name none.

    VECTOR becomes COLLECTION's default (until then, the first one ingested)."""
    with chosen_store(ctx, store).open() as opened:
        name = opened.vector(collection, vector).name
        opened.set_default_vector(collection, name)
    click.echo(f"{collection}: default vector {name}", err=True)


@collections_group.command("index")
@click.argument("collection")
@store_options
@click.option("--json", "as_json", is_flag=True, help='Print {"collection": C, "points": N, "seconds": S} on stdout.')
@click.pass_context
def index_command(ctx: click.Context, collection: str, store: StoreLocation, as_json: bool) -> None:
    """Build COLLECTION's search index now.

    Ingest builds it after storing; a run stopped before the build leaves it unfinished, and the next ingest
    (or this command) finishes it."""
    with chosen_store(ctx, store).open() as opened:
        if not opened.vector_names(collection):
            raise InvalidOptionError(f"collection {collection!r} does not exist in {opened.location}; "
                                     f"`embedkit collections` lists them")
        started = time.perf_counter()
        opened.optimize(collection)
        points = opened.count(collection)
    seconds = time.perf_counter() - started
    if as_json:
        print_json({"collection": collection, "points": points, "seconds": round(seconds, 3)})
    else:
        click.echo(f"{collection}: index built over {points:,} points in {seconds:.1f} s", err=True)


@click.command("export")
@click.option("--collection", "-c", required=True)
@click.option("--encoder", "-e", "encoders", multiple=True,
              help="Vector(s) to export, by encoder or vector name (default: the collection's default vector).")
@out_file_option(help="FILE.parquet, FILE.csv (the classic embeddings.csv) or FILE.npy.", old="--output")
@click.option("--csv-raw", is_flag=True,
              help="Write CSV cells as stored, without a ' before those a spreadsheet would run as a formula.")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON on stdout.")
def export_command(collection: str, encoders: tuple[str, ...], out: Path | None, csv_raw: bool, store: StoreLocation,
                   as_json: bool) -> None:
    """Write vectors and payloads to Parquet, CSV or .npy."""
    output = required_out(out)
    with job_progress("export", "points", resume="nothing was written; run it again") as job, store.open() as opened:
        names = [opened.vector(collection, e).name for e in encoders or (None,)]
        count = export(opened, collection, names, output, csv_raw=csv_raw, progress=job)
        left_out = opened.count(collection) - count
    if as_json:
        print_json({"collection": collection, "vectors": names, "file": str(output), "points": count,
                               "left_out": left_out})
        return
    click.echo(f"exported {count} points of {collection} ({', '.join(names)}) to {output}"
               + (f"; {left_out} points lack {' or '.join(names)} and are left out" if left_out else ""), err=True)


@click.command("push")
@click.option("--collection", "-c", required=True)
@click.option("--to", "target", required=True, help="Qdrant server URL, http(s)://HOST:PORT (or a store path).")
@click.option("--as", "target_collection", default=None, help="Collection name on the target (default: the same).")
@click.option("--batch-size", type=BATCH_SIZE, default=256, show_default=True)
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print the points copied per vector as JSON on stdout.")
def push_command(collection: str, target: str, target_collection: str | None, batch_size: int,
                 store: StoreLocation, as_json: bool) -> None:
    """Copy a collection to a Qdrant server.

    In batches with retries (--grpc: over gRPC); re-running resumes."""
    source_store, target_store, target = replace(store, grpc=False), replace(store, qdrant=target), StoreLocation(target).shown
    with job_progress("push", "points", resume="run it again to resume: points copied are not copied twice") as job, \
            source_store.open() as source, target_store.open("--to") as destination:
        copied = push(source, destination, collection, target_collection=target_collection, batch_size=batch_size,
                      progress=job)
    if as_json:
        print_json({"collection": collection, "to": target, "points": copied})
        return
    for name, count in copied.items():
        click.echo(f"pushed {count} points of {collection}/{name} to {target}", err=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    for command in (collections_group, export_command, push_command):
        cli.add_command(command)
