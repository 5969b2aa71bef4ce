"""hf: reads what `datasets` wrote (save_to_disk of a DatasetDict, to_parquet): splits, ClassLabel names,
captions, the images; a hub name is refused with what to do offline."""

from __future__ import annotations

import numpy as np
import pytest

from embedkit.datasets import get_dataset
from embedkit.errors import DatasetUnavailableError
from embedkit.images import load_image


def test_a_dataset_dict_saved_to_disk_keeps_its_splits_and_class_names(made_shards):
    data = get_dataset(f"hf:{made_shards.hf_saved}")
    assert data.splits == ("train", "test") and data.classes == ["circle", "square"]
    assert len(data.view("train")) == made_shards.count - 4 and len(data.view("test")) == 4
    for sample in data.view():
        number = int(sample.payload["caption"].rsplit(" ", 1)[1])
        assert sample.label_name == ("circle", "square")[number % 2]
        original = load_image(made_shards.images / sample.label_name / f"{number:04d}.png")
        assert np.array_equal(np.asarray(sample.image()), np.asarray(original))  # PNG bytes, kept as they were
    assert data.view("test")[0].id == "hf/test/data-00000-of-00001.arrow/000000"


def test_its_parquet_files_give_the_same_samples(made_shards):
    saved = get_dataset(f"hf:{made_shards.hf_saved}").view()
    parquet = get_dataset(f"hf:{made_shards.hf_parquet}").view()
    assert [(s.label_name, s.payload["caption"]) for s in parquet] == \
           [(s.label_name, s.payload["caption"]) for s in saved]
    assert parquet[3].image().tobytes() == saved[3].image().tobytes()


def test_a_hub_name_is_refused_with_how_to_save_it_locally():
    with pytest.raises(DatasetUnavailableError, match="local files only.*save_to_disk"):
        get_dataset("hf:zalando/fashion_mnist")
