"""`train`: the epochs of one fine-tuning run, checkpointed after each so that an interrupted run resumes, the best
weights (by validation mAP@5) kept, and the result written as a model that is an encoder by name."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embedkit.datasets import get_dataset
from embedkit.encoders import get_encoder
from embedkit.encoders.builtin.finetuned import register_now
from embedkit.encoders.builtin.finetuned_pretrained import WEIGHTS, finetuned_name, models_dir
from embedkit.encoders.image_module import ImageModuleEncoder
from embedkit.encoders.names import RANDOM
from embedkit.encoders.base import PRECISIONS
from embedkit.encoders.precision import choose_precision
from embedkit.errors import InvalidOptionError
from embedkit.progress import ProgressListener, tell
from embedkit.training.card import write_card
from embedkit.training.config import TrainConfig
from embedkit.training.data import TrainingImages, augmentation, choose
from embedkit.training.evaluate import embed, validation_scores
from embedkit.training.objectives import make_objective

log = logging.getLogger(__name__)

PROGRESS = "progress.pt"
EpochCallback = Callable[[dict[str, Any]], None]
BatchCallback = Callable[[int, int, float], None]


@dataclass
class TrainResult:
    encoder: str
    """The new encoder's name: `<architecture>.ft-<name>`."""
    folder: Path
    history: list[dict[str, Any]]
    best_epoch: int
    best: dict[str, float]
    stopped_early: bool
    resumed_from_epoch: int


def train(config: TrainConfig, *, out: Path | None = None, on_epoch: EpochCallback | None = None,
          on_batch: BatchCallback | None = None, workers: int = 0, register: bool = True,
          progress: ProgressListener | None = None) -> TrainResult:
    """Fine-tune `config.base` on `config.dataset` and save the model under `out` (default: `models_dir()`).

    A run interrupted (Ctrl-C, a crash) resumes from its last finished epoch when started again with the same
    configuration; `epochs` may be raised to go on training a finished run. `on_epoch` hears each epoch's row
    of the curves (raising from it stops the run: Optuna's pruning), `on_batch` each step's loss; `progress` the
    steps of the whole run (all its epochs), with the epoch as the stage.
    """
    torch.manual_seed(config.seed)
    base = get_encoder(config.base, device=config.device, **config.base_options,
                       **({"image_size": config.image_size} if config.image_size else {}))
    if not isinstance(base, ImageModuleEncoder):
        raise InvalidOptionError(f"{config.base} is not an image encoder with a network to train; pick a torchvision "
                                 f"CNN, EfficientNet-Lite or an open_clip vision tower")
    record = base.record
    pretrained = record.weights != RANDOM
    name = finetuned_name(record, config.name)
    folder = (out or models_dir()) / name
    dataset = get_dataset(config.dataset)
    training = choose(dataset.view(config.split), config.limit, config.seed, sample=config.sample)
    held_out = training.indices if config.validation_split == config.split else None
    validating = choose(dataset.view(config.validation_split), None, config.seed, exclude=held_out,
                        sample=config.validation_limit)
    classes = max(len(dataset.classes), int(training.labels.max()) + 1)
    device, network = base.device, base.module
    objective = make_objective(config.objective, record.dim, classes).to(device)
    loader = torch.utils.data.DataLoader(
        TrainingImages(training, augmentation(config.augmentation), base.transform), batch_size=config.batch_size,
        shuffle=True, drop_last=len(training.indices) > config.batch_size, num_workers=workers,
        generator=torch.Generator().manual_seed(config.seed))
    validation = torch.utils.data.DataLoader(TrainingImages(validating, augmentation(0), base.transform),
                                             batch_size=max(config.batch_size, 64), num_workers=workers)

    precision = choose_precision(config.precision, device, training=True).precision

    def autocast() -> contextlib.AbstractContextManager[Any]:
        if precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=PRECISIONS[precision])

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"epoch": 0, "map@5": -1.0}
    start = 0
    folder.mkdir(parents=True, exist_ok=True)
    progress_file = folder / PROGRESS
    state = _resume(progress_file, config, folder)
    if state is not None:
        network.load_state_dict(state["network"])
        objective.load_state_dict(state["objective"])
        history, best, start = state["history"], state["best"], state["epoch"]
        log.info("resuming %s after epoch %d of %d", name, start, config.epochs)
    stopped_early = bool(history) and start - best["epoch"] >= config.patience
    learns_alone = any(True for _ in objective.parameters())
    frozen_epochs = config.frozen_epochs if learns_alone else 0  # a loss without parameters has nothing to train frozen
    optimizer = None
    for epoch in range(start + 1, config.epochs + 1):
        tell(progress, f"epoch {epoch} of {config.epochs}", (epoch - 1) * len(loader), config.epochs * len(loader),
             "steps")
        if stopped_early:
            break
        frozen = epoch <= frozen_epochs
        network.train(not frozen).requires_grad_(not frozen)
        for layer in network.modules() if pretrained else ():  # keep pretrained statistics: batches are small
            if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm):
                layer.eval()
        objective.train()
        rate = config.learning_rate if frozen else config.unfrozen_learning_rate
        parameters = list(objective.parameters()) + ([] if frozen else list(network.parameters()))
        if optimizer is None or frozen != optimizer.frozen:  # type: ignore[attr-defined]
            optimizer = torch.optim.AdamW(parameters, lr=rate, weight_decay=config.weight_decay)
            optimizer.frozen = frozen  # type: ignore[attr-defined]
            if state is not None and state.get("optimizer") and state.get("frozen") == frozen:
                optimizer.load_state_dict(state["optimizer"])
        started, losses = time.perf_counter(), []
        for step, (pixels, labels) in enumerate(loader, 1):
            pixels, labels = pixels.to(device), labels.to(device)
            with autocast():
                features = network(pixels)
            loss = objective.loss(features.float(), labels)
            if not torch.isfinite(loss):
                raise InvalidOptionError(f"the loss became {loss.item()} in epoch {epoch}; lower the learning rate "
                                         f"(--lr, --lr-unfrozen)")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.item()))
            if on_batch is not None:
                on_batch(epoch, step, losses[-1])
            tell(progress, f"epoch {epoch} of {config.epochs}", (epoch - 1) * len(loader) + step,
                 config.epochs * len(loader), "steps")
        seconds = time.perf_counter() - started
        validating_stage, validation_images = f"epoch {epoch} of {config.epochs}: validation", len(validation.dataset)
        tell(progress, validating_stage, 0, validation_images, "images")
        features, labels = embed(network, validation, device, autocast,
                                 lambda done: tell(progress, validating_stage, done, validation_images, "images"))
        scores_of = objective.predict(torch.from_numpy(features).to(device))
        predicted = None if scores_of is None else scores_of.argmax(1).cpu().numpy()
        scores = validation_scores(features, labels, predicted)
        row = {"epoch": epoch, "frozen": frozen, "loss": float(np.mean(losses)) if losses else math.nan,
               "validation": scores, "seconds": seconds, "images_per_second": len(loader.dataset) / seconds}
        history.append(row)
        if scores["map@5"] > best["map@5"]:
            best = {"epoch": epoch, **scores}
            torch.save(network.state_dict(), folder / WEIGHTS)
        stopped_early = epoch - best["epoch"] >= config.patience
        torch.save({"config": config.to_json(), "epoch": epoch, "history": history, "best": best,
                    "network": network.state_dict(), "objective": objective.state_dict(),
                    "optimizer": optimizer.state_dict(), "frozen": frozen}, progress_file)
        if on_epoch is not None:
            on_epoch(row)
    write_card(folder, name=name, config=config, base=record, training=training, validating=validating,
               history=history, best=best, classes=dataset.classes)
    network.eval().requires_grad_(False)
    if register:
        register_now(name, folder)
    return TrainResult(name, folder, history, int(best["epoch"]), {k: v for k, v in best.items() if k != "epoch"},
                       stopped_early, start)


def _resume(progress_file: Path, config: TrainConfig, folder: Path) -> dict[str, Any] | None:
    """The last finished epoch of an interrupted run of this configuration; a run of another one starts over."""
    if not progress_file.is_file():
        return None
    try:
        state = torch.load(progress_file, map_location="cpu", weights_only=True)
    except Exception as error:  # a half-written file: the run starts over
        log.warning("cannot read %s (%s); training from the start", progress_file, error)
        return None
    differing = config.same_run(state.get("config", {}))
    if differing:
        log.warning("%s holds a run with other settings (%s); training from the start", folder, ", ".join(differing))
        for stale in (progress_file, folder / WEIGHTS):
            stale.unlink(missing_ok=True)
        return None
    return state

