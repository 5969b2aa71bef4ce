"""`embedkit train` and `embedkit tune`: fine-tune an encoder's backbone on a dataset, and search its settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from embedkit.cli.options import NumberRange, PRECISIONS, SEED, out_dir_option, sample_option
from embedkit.cli.progress import job_progress
from embedkit.cli.tables import print_json
from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl

OBJECTIVES = ("classification", "multi-similarity", "triplet", "arcface", "proxy-anchor")
"""`embedkit.training.config.OBJECTIVES`, written out: --help imports no torch."""


def run_options(function: Any) -> Any:
    options = [
        click.argument("dataset"),
        click.option("--encoder", "-e", "base", required=True,
                     help="The registered image encoder whose backbone is trained (e.g. efficientnet_lite0; "
                          "NAME.random trains from scratch)."),
        click.option("--name", required=True, help="The new encoder is named ARCHITECTURE.ft-NAME."),
        click.option("--split", default="train", show_default=True, help="Split to learn from."),
        click.option("--validation-split", default="test", show_default=True,
                     help="Split scored after each epoch (mAP@5 as bench scores it); the training split itself takes images --limit or --sample leaves out."),
        click.option("--limit", type=click.IntRange(2, 100_000_000), default=None,
                     help="Learn from the first N images of the split."),
        sample_option("Learn from a seeded random N images of the split (--seed picks them)."),
        click.option("--validation-limit", type=click.IntRange(2, 1_000_000), default=1000, show_default=True),
        click.option("--epochs", type=click.IntRange(1, 1000), default=3, show_default=True),
        click.option("--batch-size", type=click.IntRange(4, 4096), default=32, show_default=True),
        click.option("--image-size", type=click.IntRange(16, 1024), default=None,
                     help="Input size (torchvision CNNs; e.g. 64 for 28 px images)."),
        click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True,
                     help="Autocast precision of the forward pass; auto: bf16 where the GPU or CPU computes it "
                          "natively, else fp32."),
        click.option("--device", default="auto", show_default=True),
        click.option("--seed", type=SEED, default=0, show_default=True),
        out_dir_option(help="Where models go (default: $EMBEDKIT_MODELS or ~/.cache/embedkit/models).", name="out"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def base_config(dataset: str, base: str, name: str, **settings: Any) -> Any:
    from embedkit.training import TrainConfig

    return TrainConfig(base=base, dataset=dataset, name=name, **settings)


@click.command("train")
@run_options
@click.option("--objective", type=click.Choice(OBJECTIVES), default="classification", show_default=True,
              help="classification: a linear head and cross-entropy; the others: pytorch-metric-learning losses.")
@click.option("--frozen-epochs", type=click.IntRange(0, 1000), default=1, show_default=True,
              help="First epochs with the backbone frozen (only the head learns).")
@click.option("--lr", "learning_rate", type=NumberRange(0, 10, min_open=True), default=1e-3, show_default=True)
@click.option("--lr-unfrozen", "unfrozen_learning_rate", type=NumberRange(0, 10, min_open=True), default=1e-4,
              show_default=True, help="Learning rate once the backbone is unfrozen.")
@click.option("--augmentation", type=NumberRange(0, 3), default=1.0, show_default=True,
              help="Strength of rotation, zoom, shifts, shear and flips (0: none).")
@click.option("--patience", type=click.IntRange(1, 1000), default=2, show_default=True,
              help="Stop after this many epochs without a better validation mAP@5.")
@click.option("--json", "as_json", is_flag=True)
def train_command(dataset: str, base: str, name: str, out: Path | None, as_json: bool, **settings: Any) -> None:
    """Fine-tune an image encoder on a dataset into a new encoder.

    Checkpointed after each epoch: run the same command again to resume an interrupted run. Writes the weights,
    a model card (card.json, card.md) and the curves (curves.png) into the model's folder.
    """
    from embedkit.training import train

    config = base_config(dataset, base, name, **settings)
    with job_progress("train", "steps", resume="it is checkpointed after each finished epoch: run the same command "
                                              "again to resume") as job:
        def on_epoch(row: dict[str, Any]) -> None:
            scores = row["validation"]
            line = (f"epoch {row['epoch']}{' (frozen)' if row['frozen'] else ''}: loss {row['loss']:.4f}, "
                    f"validation mAP@5 {scores['map@5']:.4f}, accuracy {scores['accuracy']:.4f}, "
                    f"{row['images_per_second']:.1f} images/s")
            job.print(line)

        result = train(config, out=out, on_epoch=on_epoch, progress=job)
    if as_json:
        print_json({"encoder": result.encoder, "folder": str(result.folder), "best_epoch": result.best_epoch,
                    "best": result.best, "stopped_early": result.stopped_early,
                    "resumed_from_epoch": result.resumed_from_epoch, "curves": result.history})
        return
    resumed = f" (resumed after epoch {result.resumed_from_epoch})" if result.resumed_from_epoch else ""
    click.echo(f"{result.encoder}: best validation mAP@5 {result.best['map@5']:.4f} at epoch {result.best_epoch}"
               f"{resumed}; model, card and curves in {result.folder}")
    click.echo(f"use it: embedkit ingest {dataset} --encoder {result.encoder}")


@click.command("tune")
@run_options
@click.option("--trials", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="Finished trials the study should have; an interrupted study goes on to this number.")
@click.option("--objectives", default="classification,multi-similarity", show_default=True,
              help="Objectives the search picks among (comma-separated).")
@click.option("--json", "as_json", is_flag=True)
def tune_command(dataset: str, base: str, name: str, out: Path | None, trials: int, objectives: str, as_json: bool,
                 **settings: Any) -> None:
    """Search fine-tuning settings with Optuna.

    Learning rates, batch size, frozen epochs, objective and augmentation strength.

    Bad trials are pruned on validation mAP@5; the study is kept in OUT_DIR/NAME/study.sqlite3 (default OUT_DIR:
    tune-results), so that an interrupted search resumes. Writes trials.csv and trials.png there.
    """
    from embedkit.training import tune

    config = base_config(dataset, base, name, **settings)
    folder = (out or Path("tune-results")) / name
    chosen = tuple(part.strip() for part in objectives.split(",") if part.strip())
    if not chosen:
        raise InvalidOptionError("--objectives names none; e.g. --objectives classification,multi-similarity")
    with job_progress("tune", "trials", resume=f"the study is kept in {folder}: run the same command again to go "
                                               f"on") as job:
        def on_trial(trial: Any) -> None:
            job.update(trial.number + 1, trials, stage="trials")
            line = (f"trial {trial.number}: {trial.state.name.lower()}, validation mAP@5 "
                    f"{trial.value if trial.value is not None else '-'}")
            job.print(line)

        job.update(0, trials, stage="trials")
        result = tune(config, trials=trials, folder=folder, objectives=chosen, seed=config.seed, on_trial=on_trial)
    if as_json:
        print_json({"folder": str(result.folder), "best": result.best, "trials": result.trials, "ran_now": result.ran_now})
        return
    table = Table("trial", "state", "mAP@5", "objective", "lr", "lr unfrozen", "batch", "frozen", "augment.",
                  title=f"{name}: {len(result.trials)} trials ({result.ran_now} run now)")
    for row in result.trials:
        table.add_row(str(row["number"]), row["state"], "-" if row["map@5"] is None else f"{row['map@5']:.4f}",
                      str(row.get("objective", "")), f"{row.get('learning_rate', 0):.2g}",
                      f"{row.get('unfrozen_learning_rate', 0):.2g}", str(row.get("batch_size", "")),
                      str(row.get("frozen_epochs", "")), f"{row.get('augmentation', 0):.2f}")
    Console().print(table)
    click.echo(f"trials.csv and trials.png in {result.folder}")


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(train_command)
    cli.add_command(tune_command)
