"""`embedkit map`: a 2-D map of stored vectors as a PNG and an interactive HTML page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from embedkit.cli.options import SEED, StoreLocation, first_or_sample, record_options, sample_option, store_options
from embedkit.cli.progress import job_progress
from embedkit.cli.tables import print_json, wide_console
from embedkit.hookspecs import hookimpl

MAP_METHODS = ("pca", "tsne", "umap")
"""`embedkit.analysis.maps.METHODS`, written out: --help imports no scikit-learn."""
MAX_POINTS = 100_000_000
HOVER_IMAGES = 300
"""Images the HTML page embeds by default (about 2 kB each)."""
PNG_THUMBNAILS = 40


def output_file(suffix: str):
    """A callback for a file to write with `suffix`, checked before any work is done."""

    def check(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
        if value is None:
            return None
        if value.is_dir():
            raise click.BadParameter(f"{value} is a folder; name a file in it, e.g. {value / ('map' + suffix)}")
        if value.suffix.lower() != suffix:
            raise click.BadParameter(f"{value.name!r} is not a {suffix} file name; end it with {suffix}")
        if not value.parent.is_dir():
            raise click.BadParameter(f"folder {value.parent} does not exist; create it first")
        return value

    return check


@dataclass(frozen=True)
class MapFiles:
    """The files a map is drawn to: the PNG (its size, with thumbnails or not) and the HTML page (None: none) with
    how many points' images it embeds."""

    thumbnails: bool = False
    out: Path = Path("map.png")
    html: Path | None = None
    hover_images: int = HOVER_IMAGES
    width: int = 1200
    height: int = 900


map_file_options = record_options(MapFiles, "files", [
    click.option("--thumbnails", is_flag=True, help="Draw small images of some points on the PNG."),
    click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("map.png"), show_default=True,
                 callback=output_file(".png"), help="The PNG to write."),
    click.option("--html", type=click.Path(path_type=Path), default=None, callback=output_file(".html"),
                 help="Also write a self-contained interactive page (hover a point for its image, id and label)."),
    click.option("--hover-images", type=click.IntRange(0, 5000), default=HOVER_IMAGES, show_default=True,
                 help="How many points' images the HTML page embeds."),
    click.option("--width", type=click.IntRange(300, 8000), default=1200, show_default=True, help="PNG width in px."),
    click.option("--height", type=click.IntRange(300, 8000), default=900, show_default=True,
                 help="PNG height in px."),
])
"""--thumbnails, --out, --html, --hover-images, --width and --height, handed to the command as `files: MapFiles`."""


@click.command("map")
@click.option("--collection", "-c", required=True, help="Collection whose stored vectors to map.")
@click.option("--encoder", "-e", "vector", default=None,
              help="Which stored vector (an encoder name or alias; default: the collection's default one).")
@click.option("--method", type=click.Choice(MAP_METHODS), default="pca", show_default=True,
              help="pca (fast, linear), tsne (local neighbourhoods), umap (needs umap-learn).")
@click.option("--colour", "--color", "colour", default="label", show_default=True,
              help="Colour points by label, split, or a payload field such as cluster.")
@click.option("--split", default=None, help="Only the points of this split (default: all).")
@click.option("--limit", type=click.IntRange(1, MAX_POINTS), default=None,
              help="Only the first N points (in sample-id order).")
@sample_option()
@map_file_options
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seeds the projection and --sample.")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON on stdout.")
def map_command(collection: str, vector: str | None, method: str, colour: str, split: str | None,
                limit: int | None, sample: int | None, files: MapFiles, seed: int, store: StoreLocation, as_json: bool) -> None:
    """Draw a 2-D map of stored vectors (PNG, HTML).

    Projects the vectors with PCA, t-SNE or UMAP and colours them by label, split or cluster. No image is
    encoded; --thumbnails and --html show the points' images, found from their payload `source`."""
    from embedkit.analysis.maps import map_collection  # imports scikit-learn: only when it runs

    first_or_sample(limit, sample)
    out, html, hover_images = files.out, files.html, files.hover_images
    wanted = max(PNG_THUMBNAILS * 3 if files.thumbnails else 0, hover_images if html is not None else 0)
    with job_progress("map", "points", resume="nothing was written; run it again") as job, store.open() as opened:
        job.update(0, stage=f"reading the vectors, then the {method} projection")
        vector_map = map_collection(opened, collection, vector=vector, method=method, colour=colour, split=split,
                                    limit=limit, sample=sample, thumbnails=wanted, seed=seed)
    vector_map.save(out, width=files.width, height=files.height, thumbnails=PNG_THUMBNAILS if files.thumbnails else 0)
    if html is not None:
        vector_map.save_html(html, images=hover_images)
    if as_json:
        print_json({"collection": vector_map.collection, "vector": vector_map.vector_name, "method": method,
                    "params": vector_map.params, "colour": colour, "points": len(vector_map.ids),
                    "groups": vector_map.groups, "png": str(out),
                    "html_images": None if html is None else min(hover_images, len(vector_map.thumbnails)),
                    "html": None if html is None else str(html), "seconds": vector_map.seconds})
        return
    wide_console(stderr=True).print(
        f"{vector_map.collection} / {vector_map.vector_name}: {method} map of {len(vector_map.ids):,} points in "
        f"{len(vector_map.groups)} {colour} groups ({vector_map.seconds:.1f} s); wrote {out}"
        + (f" and {html} ({min(hover_images, len(vector_map.thumbnails))} images)" if html is not None else ""),
        highlight=False, soft_wrap=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(map_command)
