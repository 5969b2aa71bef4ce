"""`embedkit collections`, `export` and `push`: what is stored, and getting it out."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from embedkit.cli import main
from embedkit.cli.store_options import open_cli_store, store_options
from embedkit.store.export import export
from embedkit.store.push import push
from embedkit.retrieval import stored_vector_name

@main.group("collections", invoke_without_command=True)
@store_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def collections_group(ctx: click.Context, qdrant, grpc, as_json) -> None:
    """List the collections: points, and the vectors of each encoder."""
    ctx.obj = {"qdrant": qdrant, "grpc": grpc}
    if ctx.invoked_subcommand is not None:
        return
    with open_cli_store(qdrant, grpc) as store:
        infos = store.collections()
        location = store.location
    if as_json:
        click.echo(json.dumps([{"name": i.name, "points": i.points, "vectors": {
            n: {"dim": v.dim, "points": v.points, "encoder": (v.info or {}).get("encoder")}
            for n, v in i.vectors.items()}} for i in infos]))
        return
    table = Table("collection", "points", "vector", "dim", "with vector", title=f"collections in {location}")
    for info in infos:
        for index, (name, summary) in enumerate(info.vectors.items() or [("-", None)]):
            first = index == 0
            table.add_row(info.name if first else "", str(info.points) if first else "", name,
                          str(summary.dim) if summary else "", str(summary.points) if summary else "")
    Console().print(table)


@collections_group.command("drop")
@click.argument("collection")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def drop_command(ctx: click.Context, collection: str, yes: bool) -> None:
    """Delete COLLECTION and everything in it."""
    with open_cli_store(ctx.obj["qdrant"], ctx.obj["grpc"]) as store:
        if not yes:
            click.confirm(f"delete collection {collection!r} with {store.count(collection)} points?", abort=True)
        store.drop(collection)
    click.echo(f"dropped {collection}", err=True)


@main.command("export")
@click.option("--collection", "-c", required=True)
@click.option("--encoder", "-e", "encoders", multiple=True,
              help="Vector(s) to export, by encoder or vector name (default: the collection's only vector).")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="FILE.parquet, FILE.csv (the classic embeddings.csv) or FILE.npy.")
@store_options
def export_command(collection, encoders, output, qdrant, grpc) -> None:
    """Write a collection's vectors and payloads to Parquet, CSV or .npy."""
    with open_cli_store(qdrant, grpc) as store:
        names = [stored_vector_name(store, collection, e) for e in encoders] or \
                [stored_vector_name(store, collection, None)]
        count = export(store, collection, names, output)
    click.echo(f"exported {count} points of {collection} ({', '.join(names)}) to {output}", err=True)


@main.command("push")
@click.option("--collection", "-c", required=True)
@click.option("--to", "target", required=True, help="Qdrant server URL, http(s)://HOST:PORT (or a store path).")
@click.option("--as", "target_collection", default=None, help="Collection name on the target (default: the same).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@store_options
def push_command(collection, target, target_collection, batch_size, qdrant, grpc) -> None:
    """Copy a collection to a Qdrant server (--grpc: over gRPC), in batches with retries; re-running resumes."""
    with open_cli_store(qdrant, False) as source, open_cli_store(target, grpc) as destination:
        copied = push(source, destination, collection, target_collection=target_collection, batch_size=batch_size)
    for name, count in copied.items():
        click.echo(f"pushed {count} points of {collection}/{name} to {target}", err=True)
