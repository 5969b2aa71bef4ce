"""`tune` and the commands: an Optuna study kept in SQLite goes on where it stopped; the commands print one line
(or one JSON document) of what they made."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from PIL import Image

from embedkit.cli import main
from embedkit.training import tune

pytest.importorskip("optuna")


def test_a_study_goes_on_to_the_number_of_trials_asked_for(models, tiny, tmp_path):
    first = tune(tiny(epochs=1), trials=2, folder=tmp_path / "study")
    assert first.ran_now == 2 and [row["number"] for row in first.trials] == [0, 1]
    again = tune(tiny(epochs=1), trials=3, folder=tmp_path / "study")
    assert again.ran_now == 1 and [row["number"] for row in again.trials] == [0, 1, 2]
    assert again.trials[:2] == first.trials  # the earlier trials are read back, not run again
    assert again.best["map@5"] == max(row["map@5"] for row in again.trials if row["state"] == "complete")
    with open(tmp_path / "study" / "trials.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["number"] for row in rows] == ["0", "1", "2"]
    assert {"learning_rate", "batch_size", "objective", "augmentation"} <= set(rows[0])
    assert Image.open(tmp_path / "study" / "trials.png").size == (1100, 380)
    assert not (models / "vgg16.ft-trial-0").exists()  # trials are not models


def test_train_prints_its_encoder_and_a_rerun_resumes_the_finished_run(models, colours):
    arguments = ["train", colours, "-e", "vgg16.random", "--name", "cli", "--image-size", "32", "--epochs", "1",
                 "--frozen-epochs", "0", "--batch-size", "12", "--precision", "fp32", "--json"]
    made = CliRunner().invoke(main, arguments)
    assert made.exit_code == 0, made.output
    document = json.loads(made.stdout)
    assert document["encoder"] == "vgg16.ft-cli" and document["resumed_from_epoch"] == 0
    assert [row["epoch"] for row in document["curves"]] == [1]
    rerun = CliRunner().invoke(main, arguments)
    assert json.loads(rerun.stdout)["resumed_from_epoch"] == 1


def test_train_refuses_a_bad_name_in_one_line(models, colours):
    refused = CliRunner().invoke(main, ["train", colours, "-e", "vgg16.random", "--name", "Bad Name"])
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines() == [
        "error: model name 'Bad Name' must be lower-case letters, digits, '_' or '-' (at most 48), e.g. --name shoes"]


@pytest.mark.parametrize("make", ["other tables", "not sqlite", "fifo"])
def test_tune_refuses_a_study_file_optuna_did_not_write_in_one_line_naming_it(models, colours, tmp_path, make):
    import os
    import sqlite3

    study = tmp_path / "tune" / "foreign" / "study.sqlite3"
    study.parent.mkdir(parents=True)
    if make == "other tables":
        with sqlite3.connect(study) as connection:
            connection.execute("CREATE TABLE photos (path TEXT)")
        connection.close()
    elif make == "not sqlite":
        study.write_bytes(b"PK\x03\x04 a zip, say" * 20)
    else:
        os.mkfifo(study)
    before = study.stat().st_mtime_ns
    refused = CliRunner().invoke(main, ["tune", colours, "-e", "vgg16.random", "--name", "foreign", "--out-dir",
                                        str(tmp_path / "tune"), "--trials", "1"])
    assert refused.exit_code == 2, refused.output
    (line,) = refused.output.strip().splitlines()
    assert line.startswith(f"error: {study} is not an Optuna study (") and "this is a bug" not in line
    assert line.endswith("move it away, or tune under another --name")
    assert study.stat().st_mtime_ns == before  # Optuna never opened it to add its tables
    assert not (models / "vgg16.ft-trial-0").exists()
