"""`embedkit embed`: vectors for a few image files, as JSON or .npy."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from embedkit.cli.options import EncoderChoice, encoder_options
from embedkit.encoders import encoder_entry
from embedkit.hookspecs import hookimpl
from embedkit.images import load_image


@click.command("embed")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@encoder_options
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Write to FILE: .npy for an (n, dim) float32 array, otherwise JSON. Default: JSON on stdout.")
def embed_command(images: tuple[Path, ...], encoder: EncoderChoice, batch_size: int, output: Path | None) -> None:
    """Embed IMAGES with an encoder."""
    encoder_entry(encoder.name)  # an unknown name fails before any file is read
    pictures = [load_image(path) for path in images]  # every file is checked before the model loads
    model = encoder.build()
    vectors = model.encode_images(pictures, batch_size=batch_size)
    if output is not None and output.suffix == ".npy":
        np.save(output, vectors)
        click.echo(f"wrote {vectors.shape[0]} x {vectors.shape[1]} vectors from {model.name} to {output}", err=True)
        return
    document = {
        "encoder": model.record.to_json(),
        "items": [{"image": str(path), "vector": vector.tolist()} for path, vector in zip(images, vectors)],
    }
    text = json.dumps(document)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text)
        click.echo(f"wrote {len(images)} vectors from {model.name} to {output}", err=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(embed_command)
