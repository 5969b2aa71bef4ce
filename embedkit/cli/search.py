"""`embedkit search`: the nearest stored samples to an image, a stored id, a text, or examples."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from embedkit.cli import main
from embedkit.cli.store_options import open_cli_store, store_options
from embedkit.errors import InvalidOptionError
from embedkit.images import load_image
from embedkit.retrieval import search


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


@main.command("search")
@click.option("--collection", "-c", required=True, help="Collection to search.")
@click.option("--encoder", "-e", default=None, help="Encoder (needed for --image/--text; picks the vector otherwise).")
@click.option("--weights", default=None, help="Weights of the encoder, as given when ingesting.")
@click.option("--device", default="auto", show_default=True)
@click.option("--layer", default=None)
@click.option("--image-size", type=click.IntRange(min=1), default=None)
@click.option("--image", type=click.Path(path_type=Path), default=None, help="Query by this image file.")
@click.option("--id", "sample_id", default=None, help="Query by a stored sample's own vector.")
@click.option("--text", default=None, help="Query by text (encoders that embed text, e.g. CLIP).")
@click.option("--like", multiple=True, help="Sample id of an example to move towards (repeatable).")
@click.option("--unlike", multiple=True, help="Sample id of an example to move away from (repeatable).")
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--filter", "filters", multiple=True, help="FIELD=VALUE payload condition, e.g. label=3 (repeatable).")
@click.option("--exact", is_flag=True, help="Exact search instead of the HNSW index.")
@store_options
@click.option("--grid", type=click.Path(path_type=Path), default=None, help="Save the query beside its top-k as a PNG.")
@click.option("--json", "as_json", is_flag=True)
def search_command(collection, encoder, weights, device, layer, image_size, image, sample_id, text, like, unlike,
                   k, filters, exact, qdrant, grpc, grid, as_json) -> None:
    """Show the k stored samples nearest to a query."""
    options = {key: value for key, value in
               (("weights", weights), ("layer", layer), ("image_size", image_size)) if value is not None}
    if image is not None or text is not None:
        options["device"] = device
    with open_cli_store(qdrant, grpc) as store:
        result = search(collection, encoder=encoder, image=image, sample_id=sample_id, text=text, like=like,
                        unlike=unlike, k=k, filter=parse_filter(filters), store=store, exact=exact, **options)
    if grid is not None:
        from embedkit.retrieval.grid import hit_images, result_grid

        query_image = load_image(image) if image is not None else None
        if result.query_hit is not None:
            query_image = hit_images([result.query_hit])[0]
        caption = str(text or sample_id or (image.name if image else "examples"))
        result_grid(query_image, caption, result.hits).save(grid)
    if as_json:
        click.echo(json.dumps({"collection": result.collection, "vector": result.vector_name, "query": result.query,
                               "hits": [{"rank": i, "sample_id": h.sample_id, "score": h.score, "payload": h.payload}
                                        for i, h in enumerate(result.hits, 1)]}))
        return
    table = Table("rank", "score", "label", "sample id", "source",
                  title=f"{result.collection} / {result.vector_name}: {result.query}")
    for rank, hit in enumerate(result.hits, 1):
        label = hit.payload.get("label_name") or hit.payload.get("label")
        table.add_row(str(rank), f"{hit.score:.4f}", "" if label is None else str(label), hit.sample_id,
                      str(hit.payload.get("source", "")))
    Console().print(table)
