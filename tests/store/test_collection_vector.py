"""A collection's vector, found once: by vector name, alias, the encoder its record names, or the default; what made
it travels with it, and its encoder is built once and only when a query must be embedded."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from embedkit.errors import InvalidOptionError, SchemaMismatchError, TextNotSupportedError
from embedkit.records import VectorRecord
from embedkit.store import CollectionVector, open_store

IMAGES = VectorRecord("efficientnet_lite0.imagenet1k", 4, "image", weights="imagenet1k")
TEXTS = VectorRecord("st:all-MiniLM-L6-v2", 3, "text")
CLIP = VectorRecord("clip:ViT-B-32/openai", 2, "image+text", weights="openai")


@pytest.fixture
def store():
    with open_store(":memory:") as opened:
        for name, record in (("efficientnet_lite0.imagenet1k", IMAGES), ("captions", TEXTS), ("clip", CLIP)):
            opened.ensure_vector("things", name, record)
            opened.upsert("things", name, ["a"], np.ones((1, record.dim), np.float32), [{}])
        yield opened


def test_the_default_vector_is_found_without_a_name_and_carries_its_record(store):
    vector = store.vector("things")
    assert (vector.name, vector.record) == ("efficientnet_lite0.imagenet1k", IMAGES)
    store.set_default_vector("things", "clip")
    assert store.vector("things").record == CLIP


def test_an_alias_and_the_encoder_a_record_names_find_their_vector(store):
    assert store.vector("things", "efficientnet-lite0").name == "efficientnet_lite0.imagenet1k"
    assert store.vector("things", "st:all-MiniLM-L6-v2").name == "captions"


def test_only_vectors_whose_encoder_embeds_the_query_are_candidates(store):
    assert store.vector("things", embeds="image").name == "efficientnet_lite0.imagenet1k"
    with pytest.raises(InvalidOptionError, match="several vectors"):
        store.vector("things", embeds="text")
    store.set_default_vector("things", "captions")
    assert store.vector("things", embeds="text").name == "captions"
    with pytest.raises(InvalidOptionError, match=r"several vectors \(clip, efficientnet"):
        store.vector("things", embeds="image")
    with pytest.raises(InvalidOptionError, match="embeds is one of"):
        store.vector("things", embeds="audio")


def test_an_unknown_vector_is_one_line_that_lists_what_there_is(store):
    with pytest.raises(InvalidOptionError, match=r"has no vector 'resnet50' \(it has: captions, clip, eff"):
        store.vector("things", "resnet50")
    with pytest.raises(InvalidOptionError, match="does not exist"):
        store.vector("nothing")


def test_the_encoder_is_built_once_per_options_and_only_when_asked(store, monkeypatch):
    import embedkit.encoders.rebuild as rebuild

    built = []
    monkeypatch.setattr(rebuild, "encoder_from_record", lambda record, **options: built.append(options) or object())
    vector = store.vector("things", "captions")
    assert built == []
    first = vector.encoder()
    assert vector.encoder() is first and len(built) == 1
    assert vector.encoder(device="cpu") is not first and len(built) == 2


def test_a_text_query_for_an_image_encoder_is_refused_by_name(store):
    class ImageOnly:
        name, embeds_text = "efficientnet_lite0.imagenet1k", False

    with pytest.raises(TextNotSupportedError, match="embeds images only"):
        store.vector("things").embed_texts(["a cat"], ImageOnly())


def test_a_given_encoder_that_made_other_vectors_is_refused_field_by_field():
    class Given:
        record = VectorRecord("efficientnet_lite0.imagenet1k", 4, "image", weights="other")

    with pytest.raises(SchemaMismatchError, match="weights"):
        CollectionVector("things", "efficientnet_lite0.imagenet1k", IMAGES).check(Given())


def test_finding_a_vector_imports_no_model_library(tmp_path):
    code = ("import sys, numpy as np\n"
            "from embedkit.records import VectorRecord\nfrom embedkit.store import open_store\n"
            "with open_store(':memory:') as s:\n"
            "    s.ensure_vector('c', 'v', VectorRecord('efficientnet_lite0.imagenet1k', 2, 'image'))\n"
            "    print(s.vector('c', 'efficientnet-lite0').name)\n"
            "print(sorted(m for m in ('torch', 'torchvision', 'open_clip', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["v", "[]"]
