"""48 coloured images (red, green, blue; train and test) and a models folder of the test's own."""

from __future__ import annotations

import pytest

from tests.support.manifests import make_manifest

pytest.importorskip("pytorch_metric_learning", reason='training needs the train extra: pip install "embedkit[train]"')


@pytest.fixture(scope="module")
def colours(tmp_path_factory) -> str:
    return f"manifest:{make_manifest(tmp_path_factory.mktemp('colours'), per_class=8)}"


@pytest.fixture
def models(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDKIT_MODELS", str(tmp_path / "models"))
    return tmp_path / "models"


@pytest.fixture
def tiny(colours):
    """A run small enough for a test: VGG-16 (no batch norm) from random weights, at 32 px."""
    from embedkit.training import TrainConfig

    def make(**changes):
        settings = dict(base="vgg16.random", dataset=colours, name="colours", image_size=32, epochs=3,
                        frozen_epochs=0, batch_size=12, learning_rate=1e-3, unfrozen_learning_rate=1e-3,
                        validation_limit=None, augmentation=0.5, precision="fp32", device="cpu")
        return TrainConfig(**{**settings, **changes})

    return make
