"""`embedkit embed`: vectors for a few image files, as JSON or .npy."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from embedkit.cli.options import BATCH_SIZE, EncoderChoice, encoder_options, reading_options
from embedkit.cli.progress import job_progress
from embedkit.cli.tables import print_json
from embedkit.encoders import encoder_entry
from embedkit.hookspecs import hookimpl
from embedkit.images import ReadOptions, check_image, load_image


@click.command("embed")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@encoder_options
@reading_options
@click.option("--batch-size", type=BATCH_SIZE, default=32, show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Write to FILE: .npy for an (n, dim) float32 array, otherwise JSON. Default: JSON on stdout.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout (the default without --output).")
def embed_command(images: tuple[Path, ...], encoder: EncoderChoice, background: str, full_decode: bool,
                  batch_size: int, output: Path | None, as_json: bool) -> None:
    """Embed IMAGES with an encoder.

    Files are read as `ingest` reads them (--background, --full-decode), so the vectors equal stored ones.
    """
    if as_json and output is not None:
        raise click.UsageError("--json prints on stdout; leave it out to write --output FILE")
    if output is not None and output.is_dir():
        raise click.BadParameter(f"{output} is a folder; name a file in it, e.g. {output / 'vectors.npy'}",
                                 param_hint="'--output'")
    encoder_entry(encoder.name)  # an unknown name fails before any file is read
    for path in images:  # every file is checked (its header) before the model loads
        check_image(path)
    model = encoder.build()
    reading = ReadOptions.from_environment(background, None if full_decode else model.input_size)
    parts = []
    with job_progress("embed", "images", resume="nothing was written; run it again") as job:
        for start in range(0, len(images), batch_size):
            job.update(start, len(images))
            parts.append(model.encode_images([load_image(path, reading) for path in images[start : start + batch_size]],
                                             batch_size=batch_size))
        job.update(len(images), len(images))
    vectors = np.concatenate(parts)
    if output is not None and output.suffix == ".npy":
        np.save(output, vectors)
        click.echo(f"wrote {vectors.shape[0]} x {vectors.shape[1]} vectors from {model.name} to {output}", err=True)
        return
    document = {
        "encoder": model.record.replace(reading=reading.reading()).to_json(),
        "precision_choice": model.precision_choice and model.precision_choice.to_json(),
        "items": [{"image": str(path), "vector": vector.tolist()} for path, vector in zip(images, vectors)],
    }
    if output is None:
        print_json(document)
    else:
        output.write_text(json.dumps(document))
        click.echo(f"wrote {len(images)} vectors from {model.name} to {output}", err=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(embed_command)
