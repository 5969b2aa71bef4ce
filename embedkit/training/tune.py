"""`tune`: an Optuna search over a fine-tuning run's hyper-parameters, bad trials pruned on validation mAP@5, the
study kept in SQLite so that an interrupted search goes on where it stopped."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from embedkit.errors import InvalidOptionError, StudyFileError, first_line
from embedkit.training.config import OBJECTIVES, TrainConfig

log = logging.getLogger(__name__)

STUDY_FILE = "study.sqlite3"


@dataclass
class TuneResult:
    folder: Path
    trials: list[dict[str, Any]]
    """Every trial: number, state, validation mAP@5, parameters."""
    best: dict[str, Any]
    ran_now: int
    """Trials run by this call (the others were in the study already)."""


def suggest(trial: Any, base: TrainConfig, objectives: tuple[str, ...]) -> TrainConfig:
    return replace(
        base,
        name=f"trial-{trial.number}",
        learning_rate=trial.suggest_float("learning_rate", 1e-4, 3e-2, log=True),
        unfrozen_learning_rate=trial.suggest_float("unfrozen_learning_rate", 1e-5, 1e-3, log=True),
        batch_size=trial.suggest_categorical("batch_size", [16, 32, 64]),
        frozen_epochs=trial.suggest_int("frozen_epochs", 0, min(1, base.epochs - 1)),
        objective=trial.suggest_categorical("objective", list(objectives)),
        augmentation=trial.suggest_float("augmentation", 0.0, 2.0),
    )


def tune(base: TrainConfig, *, trials: int, folder: Path, objectives: tuple[str, ...] = OBJECTIVES[:2],
         seed: int = 0, on_trial: Any = None) -> TuneResult:
    """Run trials until the study in `folder` has `trials` finished (complete or pruned) ones."""
    try:
        import optuna
    except ImportError as error:
        raise InvalidOptionError('tune searches with Optuna: pip install "embedkit[train]"') from error
    from embedkit.training.loop import train

    unknown = [name for name in objectives if name not in OBJECTIVES]
    if unknown:
        raise InvalidOptionError(f"unknown objective {unknown[0]!r}; use some of {', '.join(OBJECTIVES)}")
    folder.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = folder / STUDY_FILE
    check_study_file(path)
    try:
        study = optuna.create_study(
            study_name=base.name, storage=f"sqlite:///{path}", direction="maximize", load_if_exists=True,
            sampler=optuna.samplers.TPESampler(seed=seed), pruner=optuna.pruners.MedianPruner(n_startup_trials=3))
    except Exception as error:  # SQLAlchemy's or Optuna's refusal of a database that only looks like a study
        raise _foreign(path, first_line(error)) from error
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state_values(stale._trial_id, optuna.trial.TrialState.FAIL)  # an interrupted call's
    ran = 0

    def objective(trial: Any) -> float:
        config = suggest(trial, base, objectives)

        def report(row: dict[str, Any]) -> None:
            trial.report(row["validation"]["map@5"], row["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned()

        result = train(config, out=folder / "trials", on_epoch=report, register=False)
        return float(result.best["map@5"])

    while len(study.get_trials(deepcopy=False, states=finished)) < trials:
        study.optimize(objective, n_trials=1, catch=())
        ran += 1
        if on_trial is not None:
            on_trial(study.trials[-1])
    rows = [{"number": t.number, "state": t.state.name.lower(), "map@5": t.value,
             "last_map@5": t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None,
             **t.params} for t in study.trials]
    write_trials(study, rows, folder)
    completed = [row for row in rows if row["state"] == "complete"]
    best = max(completed, key=lambda row: row["map@5"]) if completed else {}
    return TuneResult(folder, rows, best, ran)


def check_study_file(path: Path) -> None:
    """Refuse a study file that Optuna did not write, before Optuna opens it (and adds its tables to it)."""
    import sqlite3

    from embedkit.special_files import special_kind

    if not path.exists() and not path.is_symlink():
        return
    kind = special_kind(path)
    if kind is not None:
        raise _foreign(path, kind)
    with open(path, "rb") as handle:
        head = handle.read(16)
    if not head:
        return  # an empty file: SQLite makes it a database
    if head != b"SQLite format 3\x00":
        raise _foreign(path, "not a SQLite database")
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as error:
        raise _foreign(path, f"an unreadable SQLite database: {error}") from error
    if tables and not {"studies", "trials", "version_info"} <= tables:
        raise _foreign(path, f"a SQLite database of other tables ({', '.join(sorted(tables)[:3])})")


def _foreign(path: Path, why: str) -> StudyFileError:
    return StudyFileError(f"{path} is not an Optuna study ({why}); move it away, or tune under another --name")


def write_trials(study: Any, rows: list[dict[str, Any]], folder: Path) -> None:
    """trials.csv, and trials.png: each trial's validation mAP@5 by epoch, pruned ones as grey crosses."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    with open(folder / "trials.csv", "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(dict.fromkeys(key for row in rows for key in row)))
        writer.writeheader()
        writer.writerows(rows)
    figure, (curves, best) = plt.subplots(1, 2, figsize=(11, 3.8), dpi=100)
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    for trial in study.trials:
        steps = sorted(trial.intermediate_values)
        if steps and trial not in pruned:
            curves.plot(steps, [trial.intermediate_values[s] for s in steps], marker="o", alpha=0.8)
    for trial in pruned:
        steps = sorted(trial.intermediate_values)
        curves.plot(steps, [trial.intermediate_values[s] for s in steps], marker="x", color="grey", linestyle=":")
    curves.set(title="validation mAP@5 by epoch (grey x: pruned)", xlabel="epoch", ylabel="mAP@5")
    curves.xaxis.set_major_locator(MaxNLocator(integer=True))
    values = [(t.number, t.value, t in pruned) for t in study.trials if t.value is not None]
    if values:
        completed = [(n, v) for n, v, p in values if not p]
        cut = [(n, v) for n, v, p in values if p]
        if cut:
            best.scatter(*zip(*cut), marker="x", color="grey", label="pruned (last epoch)")
        if completed:
            best.scatter(*zip(*completed), label="complete")
            running = [max(v for _, v in completed[: i + 1]) for i in range(len(completed))]
            best.step([n for n, _ in completed] + [values[-1][0]], running + running[-1:], where="post",
                      color="#d62728", label="best so far")
        best.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    best.set(title="trials", xlabel="trial", ylabel="validation mAP@5")
    best.xaxis.set_major_locator(MaxNLocator(integer=True))
    for axes in (curves, best):
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(folder / "trials.png")
    plt.close(figure)
