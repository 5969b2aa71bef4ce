"""`embedkit embed`: vectors for a few image files, as JSON or .npy."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from embedkit.cli import main
from embedkit.encoders import ENCODERS, get_encoder
from embedkit.images import load_image


def encoder_options(function):
    """The options that choose and configure an encoder, shared by every command that embeds."""
    for option in reversed([
        click.option("--encoder", "-e", required=True, help="Encoder name or alias (see `embedkit encoders`)."),
        click.option("--weights", default=None,
                     help="Pretrained weights by default; 'none' for random; or a checkpoint PATH."),
        click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."),
        click.option("--precision", type=click.Choice(["fp32", "fp16", "bf16"]), default="fp32", show_default=True),
        click.option("--layer", default=None, help="Feature layer, for encoders that offer several (vgg16: fc2)."),
        click.option("--image-size", type=click.IntRange(min=1), default=None,
                     help="Input size in pixels instead of the weights' own (e.g. 32 for CIFAR)."),
    ]):
        function = option(function)
    return function


def encoder_from_options(encoder: str, weights, device, precision, layer, image_size):
    """Only the options the user gave are passed on: an encoder need not know options it lacks."""
    given = {"weights": weights, "layer": layer, "image_size": image_size}
    return get_encoder(encoder, device=device, precision=precision,
                       **{key: value for key, value in given.items() if value is not None})


@main.command("embed")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@encoder_options
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Write to FILE: .npy for an (n, dim) float32 array, otherwise JSON. Default: JSON on stdout.")
def embed_command(images, encoder, weights, device, precision, layer, image_size, batch_size, output) -> None:
    """Embed IMAGES with an encoder."""
    ENCODERS.resolve(encoder)  # an unknown name fails before any file is read
    pictures = [load_image(path) for path in images]  # every file is checked before the model loads
    model = encoder_from_options(encoder, weights, device, precision, layer, image_size)
    vectors = model.encode_images(pictures, batch_size=batch_size)
    if output is not None and output.suffix == ".npy":
        np.save(output, vectors)
        click.echo(f"wrote {vectors.shape[0]} x {vectors.shape[1]} vectors from {model.name} to {output}", err=True)
        return
    document = {
        "encoder": model.describe(),
        "items": [{"image": str(path), "vector": vector.tolist()} for path, vector in zip(images, vectors)],
    }
    text = json.dumps(document)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text)
        click.echo(f"wrote {len(images)} vectors from {model.name} to {output}", err=True)
