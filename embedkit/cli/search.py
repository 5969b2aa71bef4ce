"""`embedkit search`: the nearest stored samples to an image, a stored id, a text, or examples."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Column, Table

from embedkit.cli.options import EncoderChoice, StoreLocation, encoder_options, record_options, store_options
from embedkit.cli.tables import print_json, shortened_paths
from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.images import load_image


def parse_filter(items: tuple[str, ...]) -> dict:
    """`label=3`, `split=test`, `label=1,2` (any of) -> a store filter; integers are matched as integers."""
    parsed = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InvalidOptionError(f"filter {item!r} is not FIELD=VALUE; e.g. --filter label=3")
        values = [int(v) if v.lstrip("-").isdigit() else v for v in value.split(",")]
        parsed[key] = values if len(values) > 1 else values[0]
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
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--filter", "filters", multiple=True, help="FIELD=VALUE payload condition, e.g. label=3 (repeatable).")
@click.option("--exact", is_flag=True, help="Exact search instead of the HNSW index.")
@store_options
@click.option("--grid", type=click.Path(path_type=Path), default=None, help="Save the query beside its top-k as a PNG.")
@click.option("--json", "as_json", is_flag=True)
def search_command(collection: str, encoder: EncoderChoice, query: Query, k: int, filters: tuple[str, ...],
                   exact: bool, store: StoreLocation, grid: Path | None, as_json: bool) -> None:
    """Show the k stored samples nearest to a query.

    A query by --image or --text is embedded by the encoder that made the collection's vectors;
    --encoder only picks among several stored vectors.
    """
    from embedkit.retrieval import search  # imports torch: only when the command runs, not for --help

    options = encoder.options() if query.is_embedded else encoder.variant_options()
    with store.open() as opened:
        result = search(collection, encoder=encoder.name, **asdict(query), k=k, filter=parse_filter(filters),
                        store=opened, exact=exact, **options)
    if grid is not None:
        from embedkit.retrieval.grid import hit_images, result_grid

        query_image = load_image(query.image) if query.image is not None else None
        if result.query_hit is not None:
            query_image = hit_images([result.query_hit])[0]
        result_grid(query_image, query.caption(), result.hits).save(grid)
        click.echo(f"wrote {grid}: the query and its {len(result.hits)} nearest", err=True)
    if as_json:
        print_json({"collection": result.collection, "vector": result.vector_name, "query": result.query,
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
        columns.append(Column("source", overflow="fold", ratio=1))
    table = Table(*columns, box=box.SIMPLE_HEAD, caption=None if root is None else f"sources in {root}",
                  title=f"{result.collection} / {result.vector_name}: "
                        + "; ".join(f"{key} {', '.join(map(str, value)) if isinstance(value, list) else value}"
                                    for key, value in result.query.items()))
    for rank, (hit, label, source) in enumerate(zip(result.hits, labels, sources), 1):
        table.add_row(str(rank), f"{hit.score:.4f}", label, hit.sample_id, *([source] if with_source else []))
    console.print(table)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(search_command)
