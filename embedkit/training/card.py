"""The model card of a fine-tuned model: JSON (read back by the encoder registry) and Markdown, with its curves."""

from __future__ import annotations

import datetime as dt
import json
import platform
from pathlib import Path
from typing import Any

import torch

from embedkit._version import __version__
from embedkit.encoders.builtin.finetuned_pretrained import CARD
from embedkit.records import VectorRecord
from embedkit.training.config import TrainConfig
from embedkit.training.data import LabelledSamples

CURVES = "curves.png"


def finetuned_record(base: VectorRecord, name: str, config: TrainConfig) -> VectorRecord:
    """What the fine-tuned encoder makes: the base's record (dim, layer, preprocessing) under its new name."""
    return base.replace(
        encoder=name, weights=f"ft-{config.name}", weights_sha256=None, weights_file=None, source="embedkit train",
        precision="fp32", details={"base": base.encoder, "base_weights": base.weights, "objective": config.objective,
                                   "dataset": config.dataset, "split": config.split})


def write_card(folder: Path, *, name: str, config: TrainConfig, base: VectorRecord, training: LabelledSamples,
               validating: LabelledSamples, history: list[dict[str, Any]], best: dict[str, Any],
               classes: list[str]) -> dict[str, Any]:
    card = {
        "encoder": name,
        "record": finetuned_record(base, name, config).to_json(),
        "base": {"encoder": base.encoder, "weights": base.weights, "weights_sha256": base.weights_sha256,
                 "options": dict(config.base_options)},
        "data": {"dataset": config.dataset, "classes": classes,
                 "training": {"split": config.split, "samples": len(training.indices),
                              "sha256": training.content_hash()},
                 "validation": {"split": config.validation_split, "samples": len(validating.indices),
                                "sha256": validating.content_hash()}},
        "hyperparameters": config.to_json(),
        "curves": history,
        "best_epoch": int(best["epoch"]),
        "final": {key: value for key, value in best.items() if key != "epoch"},
        "made_with": {"embedkit": __version__, "torch": torch.__version__, "python": platform.python_version(),
                      "machine": platform.machine()},
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    (folder / CARD).write_text(json.dumps(card, indent=2) + "\n")
    (folder / "card.md").write_text(markdown(card))
    plot_curves(history, folder / CURVES, name)
    return card


def markdown(card: dict[str, Any]) -> str:
    config, data = card["hyperparameters"], card["data"]
    rows = "\n".join(f"| {row['epoch']} | {'frozen' if row['frozen'] else 'all'} | {row['loss']:.4f} | "
                     f"{row['validation']['map@5']:.4f} | {row['validation']['accuracy']:.4f} | "
                     f"{row['images_per_second']:.1f} |" for row in card["curves"])
    return f"""# {card['encoder']}

Fine-tuned from `{card['base']['encoder']}` (weights `{card['base']['weights']}`) on `{data['dataset']}` with the
{config['objective']} objective: {data['training']['samples']} training images (split `{data['training']['split']}`),
validated on {data['validation']['samples']} (split `{data['validation']['split']}`).

Best epoch {card['best_epoch']}: validation mAP@5 {card['final']['map@5']:.4f}, accuracy {card['final']['accuracy']:.4f}.

| epoch | trained | loss | val. mAP@5 | val. accuracy | images/s |
|---:|---|---:|---:|---:|---:|
{rows}

![curves]({CURVES})

- Hyper-parameters: {', '.join(f'{k}={v}' for k, v in config.items() if k not in ('base', 'dataset', 'name'))}
- Data: training sha256 `{data['training']['sha256'][:16]}…`, validation sha256 `{data['validation']['sha256'][:16]}…`
- Made with embedkit {card['made_with']['embedkit']}, torch {card['made_with']['torch']}, {card['created_at']}
- Use it: `embedkit ingest DATASET --encoder {card['encoder']}`
"""


def plot_curves(history: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    epochs = [row["epoch"] for row in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    left.plot(epochs, [row["loss"] for row in history], marker="o", color="#d62728")
    frozen = [row["epoch"] for row in history if row.get("frozen")]
    left.set(title="training loss" + (" (shaded: backbone frozen)" if frozen else ""), xlabel="epoch")
    right.plot(epochs, [row["validation"]["map@5"] for row in history], marker="o", label="mAP@5")
    right.plot(epochs, [row["validation"]["accuracy"] for row in history], marker="s", label="accuracy")
    right.set(title="validation", xlabel="epoch", ylim=(0, 1))
    right.legend(loc="lower right")
    for axes in (left, right):
        if frozen:
            axes.axvspan(min(frozen) - 0.5, max(frozen) + 0.5, color="#1f77b4", alpha=0.08, lw=0)
        axes.grid(alpha=0.3)
        axes.set_xticks(epochs)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
