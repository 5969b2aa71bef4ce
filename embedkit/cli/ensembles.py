"""`embedkit ensemble build` and `embedkit stack train|apply`: ensembles from stored member vectors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from embedkit.cli.options import DIMENSION, SEED, StoreLocation, out_file_option, required_out, store_options
from embedkit.cli.tables import print_json
from embedkit.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedkit.analysis.ensembles import EnsembleReport

STACKING_METHODS = ("lda", "linear")
"""`embedkit.analysis.stacking.METHODS`, written out: the analysis room imports torch, --help does not."""


def render(report: EnsembleReport) -> None:
    Console().print(
        f"[bold]{report.collection}[/] / {report.vector_name}: wrote {report.written} vectors of dim {report.dim}"
        + (f", {report.skipped} points lack a member" if report.skipped else "")
        + (f", encoded first: {', '.join(report.encoded_members)}" if report.encoded_members else "")
        + (f", artifact {report.artifact}" if report.artifact else "")
        + f" in {report.seconds:.1f} s",
        highlight=False,
    )


def npz_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A callback for an artifact to write: a .npz file, checked before anything is trained."""
    if value is not None and (value.suffix != ".npz" or value.is_dir()):
        raise click.BadParameter(f"save the artifact as a .npz file, not {value.name!r}")
    return value


def as_json(document: object) -> object:
    return dataclasses.asdict(document) if dataclasses.is_dataclass(document) else document


@click.group("ensemble")
def ensemble_group() -> None:
    """Ensembles computed from vectors already stored."""


@ensemble_group.command("build")
@click.argument("members")
@click.option("--collection", "-c", required=True, help="Collection that holds the members' vectors.")
@click.option("--pca-dim", type=DIMENSION, default=None, help="Reduce the ensemble with a PCA to this dim.")
@click.option("--pca-file", type=click.Path(path_type=Path), default=None, callback=npz_file,
              help="Where to save the PCA (.npz).")
@click.option("--dataset", default=None, help="Encode members that have no stored vectors from this dataset.")
@click.option("--split", default=None, help="With --dataset: only this split.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="With --dataset: only the first N samples.")
@store_options
@click.option("--json", "json_output", is_flag=True)
def build_command(members: str, collection: str, pca_dim: int | None, pca_file: Path | None, dataset: str | None,
                  split: str | None, limit: int | None, store: StoreLocation, json_output: bool) -> None:
    """Store MEMBERS' ensemble vector from stored vectors.

    MEMBERS such as 'resnet50+densenet121*0.5'."""
    from embedkit.analysis.ensembles import build_from_store

    with store.open() as opened:
        report = build_from_store(opened, collection, members, pca_dim=pca_dim, pca_file=pca_file, dataset=dataset,
                                  split=split, limit=limit)
    print_json(as_json(report)) if json_output else render(report)


@click.group("stack")
def stack_group() -> None:
    """Meta-models over members' stored vectors."""


@stack_group.command("train")
@click.argument("members")
@click.option("--collection", "-c", required=True, help="Collection that holds the members' vectors and labels.")
@out_file_option(npz_file, "Artifact to write (.npz).", old="--output")
@click.option("--split", default="train", show_default=True, help="Labelled split to train on.")
@click.option("--method", type=click.Choice(STACKING_METHODS), default="lda", show_default=True)
@click.option("--dim", type=DIMENSION, default=None, help="Output dim (lda: classes-1; linear: 128).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Train on the first N labelled points only.")
@click.option("--no-apply", is_flag=True, help="Only save the artifact; do not write stack vectors.")
@store_options
@click.option("--json", "json_output", is_flag=True)
def train_command(members: str, collection: str, out: Path | None, split: str, method: str, dim: int | None, seed: int,
                  limit: int | None, no_apply: bool, store: StoreLocation, json_output: bool) -> None:
    """Train a stacker over MEMBERS and save it.

    MEMBERS such as 'efficientnet-lite0+efficientnet-lite1'."""
    from embedkit.analysis.stacking import train_stacker

    output = required_out(out)
    with store.open() as opened:
        report = train_stacker(opened, collection, members, output, split=split, method=method, dim=dim, seed=seed,
                               limit=limit, apply=not no_apply)
    if json_output:
        print_json(as_json(report))
        return
    Console().print(f"stacker [bold]{report.artifact}[/] ({report.method}, dim {report.dim}): trained on "
                    f"{report.train_points} points of {report.classes} classes in {report.seconds:.1f} s",
                    highlight=False)
    if report.applied is not None:
        render(report.applied)


@stack_group.command("apply")
@click.argument("artifact", type=click.Path(path_type=Path))
@click.option("--collection", "-c", required=True, help="Collection that holds the members' vectors.")
@store_options
@click.option("--json", "json_output", is_flag=True)
def apply_command(artifact: Path, collection: str, store: StoreLocation, json_output: bool) -> None:
    """Store a trained stacker's (or saved PCA's) vectors.

    For every point that has its members."""
    from embedkit.analysis.ensembles import apply_artifact

    with store.open() as opened:
        report = apply_artifact(opened, collection, artifact)
    print_json(as_json(report)) if json_output else render(report)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(ensemble_group)
    cli.add_command(stack_group)
