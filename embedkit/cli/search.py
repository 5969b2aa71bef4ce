"""`embedkit search`: the nearest stored samples to an image, a stored id, a text, or examples."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Column, Table

from embedkit.cli.options import (EncoderChoice, NumberRange, StoreLocation, encoder_options, image_file,
                                  record_options, store_options)
from embedkit.cli.tables import path_column, print_json, shortened_paths
from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.images import load_image
from embedkit.store.schema import INDEXED_FIELDS


FIELD_NAME = re.compile(r"[\w-]+(\.[\w-]+)*")
"""A payload field a filter can name (Qdrant's key syntax, without its array indexes): `label`, `meta.camera`."""
WHOLE_NUMBER = re.compile(r"-?[0-9]+")
"""ASCII digits only: str.isdigit() takes '²' too."""
INT64 = 2**63


def parse_filter(items: tuple[str, ...]) -> dict:
    """`label=3`, `split=test`, `label=1,2` (any of) -> a store filter. A field the store indexes has its own
    type (label: integers; split, dataset, sample_id: strings); another field's values are integers when all
    of them read as one, else strings."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InvalidOptionError(f"filter {item!r} is not FIELD=VALUE; e.g. --filter label=3")
        if not FIELD_NAME.fullmatch(key):
            raise InvalidOptionError(f"filter field {key!r} is not a payload field name; use letters, digits, '_' "
                                     f"and '-' (a nested field: a.b), e.g. --filter label=3")
        if key in parsed:
            raise InvalidOptionError(f"filter field {key!r} is given twice; give its values in one --filter, "
                                     f"e.g. {key}=1,2 (any of them)")
        values = value.split(",")
        if "" in values:
            raise InvalidOptionError(f"filter {item!r} has an empty value; separate values with single commas, "
                                     f"e.g. label=1,2")
        numbers = [int(v) for v in values if WHOLE_NUMBER.fullmatch(v) and -INT64 <= int(v) < INT64]
        kind = INDEXED_FIELDS.get(key)
        if kind == "integer" and len(numbers) < len(values):
            wrong = next(v for v in values if not WHOLE_NUMBER.fullmatch(v) or not -INT64 <= int(v) < INT64)
            raise InvalidOptionError(f"filter {item!r}: {key} holds whole numbers from -2**63 to 2**63-1, not "
                                     f"{wrong!r}; e.g. {key}=3")
        typed = numbers if kind != "keyword" and len(numbers) == len(values) else values
        parsed[key] = typed if len(typed) > 1 else typed[0]
    return parsed


@dataclass(frozen=True)
class Query:
    """What to search with: exactly one of an image file, a stored sample, a text, or liked/disliked samples."""

    image: Path | None = None
    sample_id: str | None = None
    text: str | None = None
    like: tuple[str, ...] = ()
    unlike: tuple[str, ...] = ()

    @property
    def is_embedded(self) -> bool:
        """Whether the query is embedded here (an image or a text) rather than read from the store."""
        return self.image is not None or self.text is not None

    def caption(self) -> str:
        return str(self.text or self.sample_id or (self.image.name if self.image else "examples"))


query_options = record_options(Query, "query", [
    click.option("--image", type=click.Path(path_type=Path), default=None, help="Query by this image file."),
    click.option("--id", "sample_id", default=None, help="Query by a stored sample's own vector."),
    click.option("--text", default=None, help="Query by text (vectors of an encoder that embeds text, e.g. CLIP)."),
    click.option("--like", multiple=True, help="Sample id of an example to move towards (repeatable)."),
    click.option("--unlike", multiple=True, help="Sample id of an example to move away from (repeatable)."),
])

@dataclass(frozen=True)
class RerankChoice:
    """--rerank and its parameters."""

    rerank: str | None = None
    rerank_depth: int | None = None
    alpha: float = 3.0

    def spec(self) -> Any:
        """The Python API's `Rerank` (imported when a search runs: the retrieval room imports the store)."""
        from embedkit.retrieval.rerank import NONE, Rerank

        depth = {} if self.rerank_depth is None else {"neighbours": self.rerank_depth, "candidates": self.rerank_depth}
        return Rerank(self.rerank or NONE, alpha=self.alpha, **depth)


rerank_options = record_options(RerankChoice, "rerank", [
    click.option("--rerank", type=click.Choice(["aqe", "alpha-qe", "k-reciprocal"]), default=None,
                 help="Re-rank: aqe (average query expansion) and alpha-qe search again with the query averaged with "
                      "its first hits; k-reciprocal re-orders the first hits by their shared neighbours. "
                      "docs/search.md says when each helps."),
    click.option("--rerank-depth", type=click.IntRange(1, 10_000), default=None,
                 help="The first hits --rerank reads: aqe/alpha-qe average that many (default 5), k-reciprocal "
                      "re-orders that many (default 100, at least -k)."),
    click.option("--alpha", type=NumberRange(0, 100), default=3.0, show_default=True,
                 help="alpha-qe: each hit weighs its similarity to the query to this power."),
])

MAX_K = 10_000
MAX_GRID_HITS = 100
"""A grid is one row of 160 px cells."""

SEARCH_ENCODER_HELPS = {
    "encoder": "Picks the stored vector when the collection has several (an encoder name or alias). --image "
               "and --text need none: the encoder that made the vectors is rebuilt from the collection's record.",
    "weights": "A checkpoint PATH, when the one the vectors were made with is no longer where it was.",
    "device": "Where --image and --text queries are embedded: auto, cpu, cuda or cuda:N.",
    "precision": "Precision --image and --text queries are embedded at.",
    "layer": "With --encoder: the feature layer given when ingesting.",
    "image_size": "With --encoder: the input size given when ingesting.",
}


@click.command("search")
@click.option("--collection", "-c", required=True, help="Collection to search.")
@encoder_options(required=False, helps=SEARCH_ENCODER_HELPS)
@query_options
@click.option("-k", "--k", "k", type=click.IntRange(1, MAX_K), default=10, show_default=True, help="How many hits to show.")
@click.option("--filter", "filters", multiple=True, help="FIELD=VALUE payload condition, e.g. label=3 (repeatable).")
@click.option("--exact", is_flag=True, help="Exact search instead of the HNSW index.")
@rerank_options
@store_options
@click.option("--grid", type=click.Path(path_type=Path), default=None, callback=image_file,
              help=f"Save the query beside its top-k as a PNG (k up to {MAX_GRID_HITS}).")
@click.option("--json", "as_json", is_flag=True)
def search_command(collection: str, encoder: EncoderChoice, query: Query, k: int, filters: tuple[str, ...],
                   exact: bool, rerank: RerankChoice, store: StoreLocation, grid: Path | None,
                   as_json: bool) -> None:
    """Show the k stored samples nearest to a query.

    A query by --image or --text is embedded by the encoder that made the collection's vectors;
    --encoder only picks among several stored vectors.
    """
    if filters and not any((query.image, query.sample_id, query.text, query.like, query.unlike)):
        click.echo(f"note: no query, so this lists the first {k} points matching the filter (`embedkit browse` pages "
                   f"through them)", err=True)
        ctx = click.get_current_context()
        browse_command = ctx.find_root().command.commands["browse"]  # by name: browse imports this module
        ctx.invoke(browse_command, collection=collection, filters=filters, limit=k, out=grid, qdrant=store.qdrant,
                   grpc=store.grpc, api_key=store.api_key, as_json=as_json)
        return
    from embedkit.retrieval import search  # imports torch: only when the command runs, not for --help
    from embedkit.retrieval.reranked import reranked_search

    if grid is not None and k > MAX_GRID_HITS:
        raise click.BadParameter(f"a grid shows at most {MAX_GRID_HITS} hits; give -k {MAX_GRID_HITS} or fewer, "
                                 f"or leave out --grid", param_hint="'--grid'")
    filter = parse_filter(filters)  # a malformed filter fails before the store opens
    method = rerank.spec()

    options = encoder.options() if query.is_embedded else encoder.variant_options()
    with store.open() as opened:
        if rerank.rerank is None:
            result = search(collection, encoder=encoder.name, **asdict(query), k=k, filter=filter, store=opened,
                            exact=exact, **options)
        else:
            result = reranked_search(collection, method, encoder=encoder.name, **asdict(query), k=k, filter=filter,
                                     store=opened, exact=exact, **options)
    if grid is not None:
        from embedkit.drawing.grid import hit_images, result_grid

        query_image = load_image(query.image) if query.image is not None else None
        if result.query_hit is not None:
            query_image = hit_images([result.query_hit])[0]
        result_grid(query_image, query.caption(), result.hits,
                    result.query_hit.payload if result.query_hit is not None else None).save(grid)
        click.echo(f"wrote {grid}: the query and its {len(result.hits)} nearest", err=True)
    if as_json:
        print_json({"collection": result.collection, "vector": result.vector_name, "query": result.query,
                    **({"rerank": {"method": method.method, **method.params()}} if rerank.rerank else {}),
                    "hits": [{"rank": i, "sample_id": h.sample_id, "score": h.score, "payload": h.payload}
                             for i, h in enumerate(result.hits, 1)]})
        return
    console = Console()
    labels = ["" if label is None else str(label)
              for label in (hit.payload.get("label_name") or hit.payload.get("label") for hit in result.hits)]
    ids = [hit.sample_id for hit in result.hits]
    root, sources = shortened_paths([str(hit.payload.get("source", "")) for hit in result.hits])
    widest = {name: max(map(len, values), default=0) for name, values in (("label", labels), ("id", ids),
                                                                          ("source", sources))}
    with_source = 4 + 7 + min(widest["label"], 20) + widest["id"] + widest["source"] + 15 <= console.width
    columns = [Column("rank", no_wrap=True, min_width=4), Column("score", no_wrap=True, min_width=6),
               Column("label", overflow="fold", max_width=20),
               Column("sample id", no_wrap=True, min_width=widest["id"])]
    if with_source:  # else the ids say which files they are; --json has every source
        columns.append(path_column(ratio=1))
    table = Table(*columns, box=box.SIMPLE_HEAD, caption=None if root is None else f"sources in {root}",
                  title=f"{result.collection} / {result.vector_name}: "
                        + "; ".join(f"{key} {', '.join(map(str, value)) if isinstance(value, list) else value}"
                                    for key, value in result.query.items())
                        + ("" if rerank.rerank is None else f"; re-ranked by {rerank.rerank}"
                           + ("; score: cosine to the query, so it need not fall" if rerank.rerank == "k-reciprocal"
                              else "; score: cosine to the expanded query")))
    for rank, (hit, label, source) in enumerate(zip(result.hits, labels, sources), 1):
        table.add_row(str(rank), f"{hit.score:.4f}", label, hit.sample_id, *([source] if with_source else []))
    console.print(table)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(search_command)
