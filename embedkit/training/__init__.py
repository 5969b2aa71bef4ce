"""Fine-tuning: a dataset and a registered image encoder -> new weights -> an encoder by name (docs/train.md)."""

from embedkit.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {
    "TrainConfig": "embedkit.training.config",
    "TrainResult": "embedkit.training.loop",
    "train": "embedkit.training.loop",
    "tune": "embedkit.training.tune",
    "models_dir": "embedkit.encoders.builtin.finetuned_pretrained",
    "finetuned_models": "embedkit.encoders.builtin.finetuned_pretrained",
})

__all__ = ["TrainConfig", "TrainResult", "finetuned_models", "models_dir", "train", "tune"]
