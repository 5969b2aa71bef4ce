"""`embedkit browse`: page through a collection by payload filter, with no query."""

from __future__ import annotations

from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from embedkit.cli.options import StoreLocation, image_file, store_options
from embedkit.cli.search import parse_filter
from embedkit.cli.tables import path_column, print_json, shortened_paths, wide_console
from embedkit.hookspecs import hookimpl

MAX_PAGE = 1000
MAX_GRID_POINTS = 200
"""A grid is rows of 8 cells of 160 px: 25 rows at most."""
SHOWN_FIELDS = ("label_name", "label", "split", "source", "sample_id")
"""Payload fields the table has columns of; the other fields (cluster, duplicate_group, ...) go into `other`."""
HIDDEN_FIELDS = (*SHOWN_FIELDS, "content")
"""Left out of `other` too: ingest's stamp of the file embedded (None inside array files; --json has it)."""


@click.command("browse")
@click.option("--collection", "-c", required=True, help="Collection to page through.")
@click.option("--filter", "filters", multiple=True,
              help="FIELD=VALUE payload condition, e.g. label=3, split=test, cluster=2, duplicate_group=1; values "
                   "separated by commas match any of them (repeatable: all must hold). None: every point.")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=20, show_default=True,
              help="Show the first N matching points (after --offset): one page.")
@click.option("--offset", default=None, metavar="N|TOKEN",
              help="Skip N matching points, or go on from the next-page token the page before printed.")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None, callback=image_file,
              help=f"Save the page's images as a grid PNG (with --limit up to {MAX_GRID_POINTS}).")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON on stdout (with next_offset).")
def browse_command(collection: str, filters: tuple[str, ...], limit: int, offset: str | None, out: Path | None,
                   store: StoreLocation, as_json: bool) -> None:
    """Page through stored points by payload filter, no query.

    Shows the points whose payloads match --filter, in the store's order (by point id, the same from one call to the next); each page prints the token of
    the next one. No image is encoded and no vector read.
    """
    from embedkit.retrieval.browse import browse, check_offset

    if out is not None and limit > MAX_GRID_POINTS:
        raise click.BadParameter(f"a grid shows at most {MAX_GRID_POINTS} points; give --limit {MAX_GRID_POINTS} or "
                                 f"fewer, or leave out -o/--out", param_hint="'-o' / '--out'")
    filter = parse_filter(filters)  # malformed filters and offsets fail before the store opens
    check_offset(offset)
    with store.open() as opened:
        page = browse(collection, store=opened, filter=filter, limit=limit, offset=offset)
    if out is not None:
        from embedkit.drawing.grid import point_grid

        point_grid(page.points).save(out)
        click.echo(f"wrote {out}: {len(page.points)} points", err=True)
    if as_json:
        print_json(page.to_json())
        return
    render(page, filters, offset)


def render(page, filters: tuple[str, ...], offset: str | None) -> None:  # noqa: ANN001 (a BrowsePage)
    console, errors = wide_console(), Console(stderr=True)
    where = f" matching {' and '.join(filters)}" if filters else ""
    if not page.points:
        errors.print(f"{page.collection}: no points{where} on this page ({page.matching:,} match in all)",
                     highlight=False)
        return
    root, sources = shortened_paths([str(p.payload.get("source", "")) for p in page.points])
    widest = max(len(point.sample_id) for point in page.points)
    table = Table(Column("sample id", no_wrap=True, min_width=min(widest, 40)),
                  Column("label", no_wrap=True, max_width=24), Column("split", no_wrap=True, min_width=5),
                  Column("other fields", overflow="fold", min_width=12),
                  path_column(ratio=1), box=box.SIMPLE_HEAD,
                  caption=None if root is None else f"sources in {root}")
    for point, source in zip(page.points, sources):
        payload = point.payload
        label = payload.get("label_name", payload.get("label"))
        other = ", ".join(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
                          for key, value in sorted(payload.items()) if key not in HIDDEN_FIELDS
                          and value is not None and not isinstance(value, (dict, list))
                          and not key.startswith("embedkit"))
        table.add_row(escape(point.sample_id), escape("" if label is None else str(label)),
                      escape(str(payload.get("split", ""))), escape(other), escape(source))
    console.print(table)
    first = 1 if offset is None else int(offset) + 1 if offset.isdigit() else None
    shown = f"points {first:,}-{first + len(page.points) - 1:,}" if first else f"{len(page.points):,} points"
    errors.print(f"{page.collection}: {shown} of {page.matching:,}{where}"
                 + (f"; next page: --offset {page.next_offset}" if page.next_offset else "; the last page"),
                 highlight=False, soft_wrap=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(browse_command)
