"""`embedkit delete`: remove points (all their vectors and payload) by sample id or by payload filter."""

from __future__ import annotations


import click

from embedkit.cli.options import StoreLocation, store_options
from embedkit.cli.search import parse_filter
from embedkit.cli.tables import print_json
from embedkit.hookspecs import hookimpl


@click.command("delete")
@click.option("--collection", "-c", required=True, help="Collection to delete points from.")
@click.option("--id", "sample_ids", multiple=True, help="Sample id of a point to delete (repeatable).")
@click.option("--filter", "filters", multiple=True,
              help="FIELD=VALUE payload condition, e.g. label=3 (repeatable; all must match).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@store_options
@click.option("--json", "as_json", is_flag=True, help='Print {"collection": C, "deleted": N} on stdout.')
def delete_command(collection: str, sample_ids: tuple[str, ...], filters: tuple[str, ...], yes: bool,
                   store: StoreLocation, as_json: bool) -> None:
    """Delete points by sample id or payload filter.

    With all their vectors and payload: by --id or by --filter."""
    ids = list(sample_ids) if sample_ids else None
    filter = parse_filter(filters) if filters else None
    with store.open() as opened:
        opened.check_writable(f"delete points of collection {collection!r}")
        if not yes:
            matching = opened.count_matching(collection, ids, filter=filter)
            if matching:
                click.confirm(f"delete {points(matching)} of {collection!r}?", abort=True, err=True)
        deleted = opened.delete(collection, ids, filter=filter)
    if as_json:
        print_json({"collection": collection, "deleted": deleted})
    else:
        click.echo(f"deleted {points(deleted)} of {collection}", err=True)


def points(count: int) -> str:
    return f"{count} point" + ("" if count == 1 else "s")


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(delete_command)
