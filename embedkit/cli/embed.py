"""`embedkit embed`: vectors for a few image files, as JSON or .npy."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from embedkit.cli.options import BATCH_SIZE, EncoderChoice, encoder_options, out_file_option, reading_options
from embedkit.cli.progress import job_progress
from embedkit.cli.tables import print_json
from embedkit.encoders import encoder_entry
from embedkit.hookspecs import hookimpl
from embedkit.images import ReadOptions, check_image, load_image
from embedkit.special_files import special_kind


@click.command("embed")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@encoder_options
@reading_options
@click.option("--batch-size", type=BATCH_SIZE, default=32, show_default=True)
@out_file_option(help="Write to FILE: .npy for an (n, dim) float32 array, otherwise JSON. Default: JSON on stdout.",
                 old="--output")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout (the default without -o/--out).")
def embed_command(images: tuple[Path, ...], encoder: EncoderChoice, background: str, full_decode: bool,
                  batch_size: int, out: Path | None, as_json: bool) -> None:
    """Embed IMAGES with an encoder.

    Files are read as `ingest` reads them (--background, --full-decode), so the vectors equal stored ones.
    """
    output = out
    if as_json and output is not None:
        raise click.UsageError("--json prints on stdout; leave it out to write -o/--out FILE")
    if output is not None and output.is_dir():
        raise click.BadParameter(f"{output} is a folder; name a file in it, e.g. {output / 'vectors.npy'}",
                                 param_hint="'-o' / '--out'")
    encoder_entry(encoder.name)  # an unknown name fails before any file is read
    skipped = [(path, kind) for path in images if (kind := special_kind(path)) is not None and kind != "a folder"]
    for path, kind in skipped:  # a FIFO (a shell glob picks one up) would hang the read: left out, said so
        click.echo(f"skipped {path}: {kind}, not an image file", err=True)
    images = tuple(path for path in images if path not in {path for path, _ in skipped})
    if not images:
        raise click.UsageError("no image file left to embed: every one named is a special file")
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
        **({"skipped": [{"image": str(path), "kind": kind} for path, kind in skipped]} if skipped else {}),
    }
    if output is None:
        print_json(document)
    else:
        output.write_text(json.dumps(document))
        click.echo(f"wrote {len(images)} vectors from {model.name} to {output}", err=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(embed_command)
