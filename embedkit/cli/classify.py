"""`embedkit classify`: train and score a classifier on stored vectors, save it, and label images or points with it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from embedkit.cli.options import SEED, StoreLocation, out_dir_option, record_options, store_options
from embedkit.cli.progress import analysis_resume, job_progress
from embedkit.cli.tables import print_json
from embedkit.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedkit.analysis.classify import ClassifyReport
    from embedkit.analysis.trained_classifier import LabelsWritten, Prediction
    from embedkit.store import Store

CLASSIFY_METHODS = ("knn", "linear", "svm", "forest")
"""`embedkit.analysis.classifiers.METHODS`, written out: --help imports no scikit-learn."""
TRAINING_OPTIONS = ("method", "k", "shots", "seeds", "seed", "train_split", "cv", "out", "save")
"""What only training uses: refused with --load."""
PER_CLASS_ROWS = 30
"""Classes the per-class table shows all of; above, the ones with the lowest F1 (--json has every one)."""


def classifier_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A callback for a classifier to write: a .skops file in a folder that exists, checked before training."""
    if value is None:
        return None
    if value.suffix != ".skops" or value.is_dir():
        raise click.BadParameter(f"save the classifier as a .skops file (a format that cannot run code), not "
                                 f"{value.name!r}")
    if not value.parent.is_dir():
        raise click.BadParameter(f"folder {value.parent} does not exist; create it first")
    return value


@dataclass(frozen=True)
class ClassifierTraining:
    """How a classifier is trained, scored and saved: what --load refuses (TRAINING_OPTIONS), and the test split
    (which --write-labels also labels)."""

    method: str = "knn"
    k: int = 10
    shots: int | None = None
    seeds: int | None = None
    seed: int = 0
    train_split: str | None = None
    test_split: str | None = None
    cv: int | None = None
    out: Path = Path("classify-results")
    save: Path | None = None


training_options = record_options(ClassifierTraining, "training", [
    click.option("--method", type=click.Choice(CLASSIFY_METHODS), default="knn", show_default=True,
                 help="knn: nearest neighbours; linear: logistic regression; svm: RBF kernel; forest: random forest."),
    click.option("-k", "--k", type=click.IntRange(1, 10_000), default=10, show_default=True,
                 help="knn: the neighbours that vote (cosine, weighted by closeness)."),
    click.option("--shots", type=click.IntRange(1, 100_000), default=None,
                 help="Train on N examples of each class, drawn again for each seed (k-shot, as MIEB does)."),
    click.option("--seeds", type=click.IntRange(1, 100), default=None,
                 help="With --shots: runs to average over, each with its own sample.  [default: 5]"),
    click.option("--seed", type=SEED, default=0, show_default=True,
                 help="The first run's seed (samples, folds, models)."),
    click.option("--train-split", default=None, help="Split to train on.  [default: train; with --cv: every point]"),
    click.option("--test-split", default=None,
                 help="Split to test on.  [default: test; with --load --write-labels: every point]"),
    click.option("--cv", type=click.IntRange(2, 100), default=None,
                 help="Cross-validate in N folds instead of testing on a split (a collection of one split)."),
    out_dir_option(Path("classify-results"), "Folder for the confusion matrix (PNG) and the report (JSON).",
                   name="out"),
    click.option("--save", type=click.Path(path_type=Path), default=None, callback=classifier_file,
                 help="Save the classifier as FILE.skops, with its provenance in FILE.json."),
])
"""--method, --k, --shots, --seeds, --seed, --train-split, --test-split, --cv, --out and --save, handed to the
command as `training: ClassifierTraining`."""


@click.command("classify")
@click.argument("images", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--collection", "-c", default=None, help="Collection whose stored vectors and labels to learn from.")
@click.option("--encoder", "-e", "vector", default=None,
              help="Which stored vector (its name or its encoder's; default: the collection's default one).")
@training_options
@click.option("--load", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Use a saved classifier (FILE.skops) instead of training one.")
@click.option("--trust", is_flag=True,
              help="With --load FILE.joblib: load a pickle, which runs whatever code it holds (only one you saved).")
@click.option("--predict", is_flag=True, help="Label IMAGES, embedded by the encoder the vectors record.")
@click.option("--write-labels", is_flag=True,
              help="Store predicted_label and predicted_label_name in the payloads of the test split's points "
                   "(with --cv: every point).")
@click.option("--device", default="auto", show_default=True, help="With --predict: where IMAGES are embedded.")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.pass_context
def classify_command(ctx: click.Context, images: tuple[Path, ...], collection: str | None, vector: str | None,
                     training: ClassifierTraining, load: Path | None, trust: bool, predict: bool, write_labels: bool,
                     device: str, store: StoreLocation, as_json: bool) -> None:
    """Train a classifier on stored vectors and score it.

    Learns from the vectors and labels of a collection (no image is encoded): trains on --train-split and
    scores on --test-split, or cross-validates (--cv N), or averages k-shot runs (--shots N --seeds S).
    Prints accuracy, macro-F1 and a per-class report, and saves the confusion matrix in --out-dir.
    --predict labels IMAGES; --load uses a saved classifier (for --predict or --write-labels)."""
    given = {name for name in ctx.params if ctx.get_parameter_source(name) not in
             (click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP, None)}
    _check_usage(given, images, collection, vector, predict, write_labels, load, training)
    if trust and load is None:
        raise click.UsageError("--trust goes with --load FILE.joblib (a pickle you saved yourself)")
    from embedkit.analysis.classify import load_classifier, predict_images
    from embedkit.analysis.classify import write_labels as store_labels

    document: dict[str, Any] = {}
    report = written = None
    if load is not None:
        classifier = load_classifier(load, trust=trust)
        document["classifier"] = str(load)
    if collection is not None and (load is None or write_labels):
        with job_progress("classify", "points", resume=analysis_resume(write_labels)) as job, \
                store.open() as opened:
            job.update(0, stage="reading the vectors, then training and scoring")
            if load is None:
                report = _train(opened, collection, vector, training)
                classifier = report.classifier
                document.update(report.to_json())
            if write_labels:
                split = (training.test_split or "test") if load is None and training.cv is None else training.test_split
                written = store_labels(classifier, collection, store=opened, split=split)
                document["labels_written"] = _as_dict(written)
    predictions = predict_images(classifier, list(images), device=device) if predict else []
    if predict:
        document["predictions"] = [_as_dict(prediction) for prediction in predictions]
    if as_json:
        print_json(document)
        return
    console = Console(stderr=True)
    if report is not None:
        render_report(report, console)
    if written is not None:
        render_written(written, console)
    if predict:
        render_predictions(predictions, console)


def _train(store: Store, collection: str, vector: str | None, training: ClassifierTraining) -> ClassifyReport:
    """The classifier `training` asks for, trained on `collection` and scored; its picture, report and file saved."""
    from embedkit.analysis.classify import classify

    cv = training.cv
    report = classify(store, collection, vector=vector, method=training.method, k=training.k, shots=training.shots,
                      seeds=training.seeds or 5, seed=training.seed,
                      train_split=training.train_split or (None if cv else "train"),
                      test_split=training.test_split or "test", cv=cv)
    report.save(training.out, classifier=training.save)
    return report


def _check_usage(given: set[str], images: tuple[Path, ...], collection: str | None, vector: str | None,
                 predict: bool, write_labels: bool, load: Path | None, training: ClassifierTraining) -> None:
    """Refuse option combinations that mean nothing, before any work."""
    shots, cv, method = training.shots, training.cv, training.method
    if images and not predict:
        raise click.UsageError("IMAGES are labelled with --predict; add it (or leave the images out)")
    if predict and not images:
        raise click.UsageError("--predict needs the IMAGE files to label")
    if load is not None:
        refused = [f"--{'out-dir' if name == 'out' else name.replace('_', '-')}" for name in TRAINING_OPTIONS
                   if name in given]
        if refused:
            raise click.UsageError(f"--load uses a saved classifier, so {', '.join(refused)} (which train one) "
                                   f"cannot be given with it")
        if vector is not None:
            raise click.UsageError("a saved classifier knows the vectors it classifies: leave out --encoder with "
                                   "--load")
        if not predict and not write_labels:
            raise click.UsageError("--load needs something to do: --predict IMAGE... or --write-labels -c COLLECTION")
        if write_labels and collection is None:
            raise click.UsageError("--write-labels needs the collection whose points to label (-c)")
        if collection is not None and not write_labels:
            raise click.UsageError("with --load, -c names the collection to --write-labels to; add that, or leave -c "
                                   "out")
        return
    if collection is None:
        raise click.UsageError("--collection (-c) is required to train a classifier (or --load a saved one)")
    if "seeds" in given and shots is None:
        raise click.UsageError("--seeds averages k-shot runs: give --shots N with it")
    if cv is not None and ("test_split" in given or shots is not None):
        raise click.UsageError("--cv tests each fold in turn: it takes no --test-split and no --shots")
    if "k" in given and method != "knn":
        raise click.UsageError(f"-k is the neighbours of --method knn; --method {method} does not use it")


def render_report(report: ClassifyReport, console: Console) -> None:
    spread = (lambda std: "" if std is None else f" ± {std:.4f}")
    how = {"split": f"trained on {report.train_split!r} ({report.train_count} points), tested on "
                    f"{report.test_split!r} ({report.test_count} points)",
           "cv": f"{len(report.runs)}-fold cross-validation over {report.test_count} points"
                 + (f" of {report.train_split!r}" if report.train_split else ""),
           "k-shot": f"{len(report.runs)} runs of {report.train_count} points (k-shot) from {report.train_split!r}, "
                     f"tested on {report.test_split!r} ({report.test_count} points)"}[report.protocol]
    console.print(f"[bold]{report.collection} / {report.vector_name}[/]: {report.method}, {how}", highlight=False)
    summary = Table()
    summary.add_column("figure")
    summary.add_column("value", justify="right")
    summary.add_row("accuracy", f"{report.accuracy:.4f}{spread(report.accuracy_std)}")
    summary.add_row("macro-F1", f"{report.macro_f1:.4f}{spread(report.macro_f1_std)}")
    summary.add_row("training accuracy", f"{report.train_accuracy:.4f}")
    summary.add_row("classes", str(len(report.confusion_labels)))
    console.print(summary)
    rows = report.per_class
    if len(rows) > PER_CLASS_ROWS:
        rows = sorted(rows, key=lambda row: (row.f1, row.name))[:10]
    per_class = Table(title="per class" + (" (the 10 with the lowest F1; --json has all)"
                                           if len(rows) < len(report.per_class) else ""), title_justify="left")
    per_class.add_column("class", overflow="fold")
    for heading in ("precision", "recall", "F1", "support"):
        per_class.add_column(heading, justify="right")
    for row in rows:
        per_class.add_row(row.name, f"{row.precision:.3f}", f"{row.recall:.3f}", f"{row.f1:.3f}", str(row.support))
    console.print(per_class)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
    for label, path in (("confusion matrix", report.confusion_png), ("report", report.report_json),
                        ("classifier", report.saved)):
        if path:
            console.print(f"{label}: {path}", highlight=False, soft_wrap=True)  # a path whole, never cut mid-name


def render_written(written: LabelsWritten, console: Console) -> None:
    where = f"split {written.split!r}" if written.split else "every point"
    counts = ", ".join(f"{name} {count}" for name, count in written.counts.items())
    console.print(f"{written.collection}: wrote predicted_label and predicted_label_name to {written.written} "
                  f"points ({where}): {counts}", highlight=False)


def render_predictions(predictions: list[Prediction], console: Console) -> None:
    table = Table(title="predictions", title_justify="left")
    table.add_column("image", no_wrap=True, overflow="ellipsis")
    table.add_column("label", overflow="fold")
    table.add_column("probability", justify="right")
    for prediction in predictions:
        table.add_row(prediction.image, prediction.label_name,
                      "-" if prediction.probability is None else f"{prediction.probability:.3f}")
    console.print(table)
    if any(prediction.probability is None for prediction in predictions):
        console.print("this classifier gives no probabilities (svm); knn, linear and forest do", highlight=False)


def _as_dict(item: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(item)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(classify_command)
