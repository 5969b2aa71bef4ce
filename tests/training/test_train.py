"""The whole fine-tuning loop on a few dozen images: it learns, resumes, writes its card, and its result is an
encoder by name that ingests and searches."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from embedkit.encoders import get_encoder
from embedkit.encoders.weights import file_sha256
from embedkit.errors import InvalidOptionError, WeightsMismatchError
from embedkit.training import TrainConfig, train


@pytest.mark.parametrize("objective", ["classification", "multi-similarity"])
def test_the_loss_falls_and_validation_mAP_is_scored_each_epoch(models, tiny, objective):
    result = train(tiny(objective=objective))
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert all(0 <= row["validation"]["map@5"] <= 1 for row in result.history)
    assert result.best["map@5"] == max(row["validation"]["map@5"] for row in result.history)
    assert result.encoder == "vgg16.ft-colours"


def test_training_stops_early_when_validation_mAP_stops_improving(models, tiny):
    result = train(tiny(epochs=6, patience=1, learning_rate=1e-7, unfrozen_learning_rate=1e-7))
    assert result.stopped_early and len(result.history) < 6
    assert len(result.history) - result.best_epoch == 1


def test_the_model_card_is_complete_and_progress_counts_the_steps_of_every_epoch(models, tiny):
    heard = []
    result = train(tiny(), progress=heard.append)
    steps = [p for p in heard if p.unit == "steps"]
    totals = {p.total for p in steps}
    assert len(totals) == 1 and steps[0].done == 0 and steps[-1].done == totals.pop() > 0  # known from the start
    assert [p.stage for p in steps if p.done == 0] == ["epoch 1 of 3"]
    validating = [p for p in heard if p.stage == "epoch 3 of 3: validation"]  # counts its own images, not the steps
    assert validating[0].done == 0 and validating[-1].done == validating[-1].total == 24
    assert {p.unit for p in validating} == {"images"} and heard[-1] == validating[-1]
    card = json.loads((result.folder / "card.json").read_text())
    assert card["encoder"] == "vgg16.ft-colours" and card["base"]["encoder"] == "vgg16.random"
    assert card["record"]["weights"] == "ft-colours" and card["record"]["dim"] == 512
    assert card["record"]["image_size"] == 32 and card["record"]["details"]["base"] == "vgg16.random"
    assert card["data"]["training"]["samples"] == 24 and card["data"]["validation"]["samples"] == 24
    assert len(card["data"]["training"]["sha256"]) == 64 and card["data"]["classes"] == ["blue", "green", "red"]
    assert card["hyperparameters"]["learning_rate"] == 1e-3 and card["hyperparameters"]["objective"] == "classification"
    assert [row["epoch"] for row in card["curves"]] == [1, 2, 3] and card["best_epoch"] == result.best_epoch
    assert set(card["final"]) == {"map@5", "p@1", "accuracy"} and card["made_with"]["torch"] == torch.__version__
    assert "vgg16.ft-colours" in (result.folder / "card.md").read_text()
    assert Image.open(result.folder / "curves.png").size == (1000, 360)


def test_an_interrupted_run_resumes_after_its_last_finished_epoch(models, tiny):
    def stop_after_first(row):
        if row["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tiny(), on_epoch=stop_after_first)
    seen = []
    resumed = train(tiny(), on_epoch=seen.append)
    assert resumed.resumed_from_epoch == 1 and [row["epoch"] for row in seen] == [2, 3]
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    again = train(tiny(epochs=4, patience=10), on_epoch=seen.append)  # more epochs go on from the finished run
    assert again.resumed_from_epoch == 3 and seen[-1]["epoch"] == 4
    other = train(tiny(learning_rate=5e-4, unfrozen_learning_rate=5e-4, epochs=1))  # other settings start over
    assert other.resumed_from_epoch == 0 and len(other.history) == 1


def test_the_new_encoder_resolves_ingests_and_searches_with_its_provenance(models, tiny, colours, tmp_path):
    from embedkit.ingestion import ingest
    from embedkit.retrieval import search
    from embedkit.store import open_store

    result = train(tiny())
    encoder = get_encoder(result.encoder, device="cpu")
    assert encoder.vector_name == "vgg16.ft-colours-32px"
    report = ingest(colours, result.encoder, store=tmp_path / "store", collection="colours", workers=0, device="cpu")
    assert report.stored == 48
    with open_store(tmp_path / "store") as store:
        record = store.vector_record("colours", encoder.vector_name)
        hits = search("colours", sample_id="manifest/img/test-red-0.png", k=3, store=store).hits
    assert record.weights_sha256 == file_sha256(result.folder / "weights.pt")
    assert record.details["base"] == "vgg16.random" and record.details["objective"] == "classification"
    assert len(hits) == 3
    listed = subprocess.run([sys.executable, "-m", "embedkit", "encoders", "*.ft-*", "--json"], capture_output=True,
                            text=True, timeout=120)
    assert [entry["name"] for entry in json.loads(listed.stdout)] == ["vgg16.ft-colours"]


def test_weights_of_another_architecture_are_refused_in_one_line(models, tiny):
    result = train(tiny(epochs=1))
    torch.save(get_encoder("mobilenet_v2.random", device="cpu").module.state_dict(), result.folder / "weights.pt")
    with pytest.raises(WeightsMismatchError) as refused:
        get_encoder(result.encoder, device="cpu")
    assert "does not fit vgg16" in str(refused.value) and "\n" not in str(refused.value)


def test_a_missing_metric_learning_library_names_the_extra(monkeypatch):
    from embedkit.training.objectives import make_objective

    monkeypatch.setitem(sys.modules, "pytorch_metric_learning", None)
    with pytest.raises(InvalidOptionError, match=r'pip install "embedkit\[train\]"'):
        make_objective("multi-similarity", 8, 3)


@pytest.mark.parametrize("changes, message", [
    ({"name": "Shoes!"}, "model name 'Shoes!' must be lower-case"),
    ({"objective": "contrastive"}, "unknown objective 'contrastive'"),
    ({"epochs": 1, "frozen_epochs": 2}, "frozen epochs between 0 and the epochs"),
    ({"validation_split": "train", "split": "train"}, "validating on the training split 'train' needs --limit or --sample"),
    ({"batch_size": 2}, "batch size must be at least 4"),
])
def test_settings_that_cannot_train_are_refused_before_anything_loads(changes, message):
    settings = dict(base="vgg16.random", dataset="x", name="ok")
    with pytest.raises(InvalidOptionError, match=message):
        TrainConfig(**{**settings, **changes})


def test_the_validation_scores_are_the_bench_metrics():
    from embedkit.bench.metrics import mean_metrics, query_metrics
    from embedkit.bench.ranking import exact_ranking
    from embedkit.training.evaluate import validation_scores

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 6)
    features = rng.normal(size=(24, 8)) + labels[:, None]
    scores = validation_scores(features, labels, None)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    ranking = exact_ranking(unit, labels, unit, labels, query_positions=np.arange(24))
    assert scores["map@5"] == pytest.approx(mean_metrics([query_metrics(r) for r in ranking.ranks])["map@5"])


def test_validating_on_the_training_split_holds_out_images_training_never_sees(models, tiny):
    result = train(tiny(validation_split="train", limit=16, validation_limit=None, epochs=1))
    card = json.loads((result.folder / "card.json").read_text())
    assert card["data"]["training"]["samples"] == 16
    assert card["data"]["validation"]["split"] == "train"
    assert card["data"]["validation"]["samples"] == 24 - 16


def test_the_held_out_choice_excludes_the_training_indices(colours):
    from embedkit.datasets import get_dataset
    from embedkit.training.data import choose

    view = get_dataset(colours).view("train")
    training = choose(view, 10, seed=0)
    held_out = choose(view, None, seed=0, exclude=training.indices)
    assert not set(training.indices) & set(held_out.indices)
    assert sorted([*training.indices, *held_out.indices]) == list(range(len(view)))


def test_limit_takes_the_first_images_and_sample_a_seeded_random_choice():
    from embedkit.training.data import choose

    class View:  # what choose reads of a dataset's split
        dataset_name, split = "d", "train"

        def labels(self):
            return [i % 3 for i in range(30)]

    first = choose(View(), 6, seed=0)
    drawn, again = choose(View(), None, seed=4, sample=6), choose(View(), None, seed=4, sample=6)
    assert first.indices.tolist() == list(range(6)) and first.labels.tolist() == [0, 1, 2, 0, 1, 2]
    assert drawn.indices.tolist() == again.indices.tolist() != list(range(6)) and len(drawn.indices) == 6


def test_limit_and_sample_together_are_refused(tiny):
    with pytest.raises(InvalidOptionError, match="--limit takes the first N images and --sample a random N"):
        tiny(limit=8, sample=8)
