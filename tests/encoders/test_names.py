"""The one name grammar: random weights spelt one way, variants in vector names, older spellings mapped."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedkit.encoders import get_encoder, vector_name_candidates
from embedkit.encoders.names import Member, canonical, find_stored, parse_members, split_variants
from embedkit.errors import InvalidOptionError
from embedkit.ingestion import ingest
from embedkit.retrieval import search
from embedkit.records import VectorRecord
from embedkit.store import open_store
from tests.support.photos import PER_CLASS, make_photo_folder


@pytest.mark.parametrize("old, new", [
    ("clip:ViT-S-32-alt/random", "clip:ViT-S-32-alt.random"),
    ("clip:ViT-S-32-alt/none-64px", "clip:ViT-S-32-alt.random-64px"),
    ("st:all-MiniLM-L6-v2/none@caption", "st:all-MiniLM-L6-v2.random@caption"),
    ("resnet50.random", "resnet50.random"),
    ("clip:ViT-B-32/openai", "clip:ViT-B-32/openai"),
])
def test_older_spellings_of_random_weights_map_to_the_one_spelling(old, new):
    assert canonical(old) == new


def test_every_spelling_of_random_weights_builds_the_same_encoder():
    names = {get_encoder(name, device="cpu").name for name in ("mobilenet_v2.random", "mobilenet_v2.imagenet1k_v1.random")}
    names.add(get_encoder("mobilenet_v2", weights="random", device="cpu").name)
    names.add(get_encoder("mobilenet_v2", weights="none", device="cpu").name)  # deprecated, still understood
    assert names == {"mobilenet_v2.random"}
    with pytest.raises(InvalidOptionError, match="random weights; leave out weights"):
        get_encoder("mobilenet_v2.random", weights="/some/checkpoint.pt")


def test_a_vector_name_with_variants_creates_the_encoder_that_fills_it():
    encoder = get_encoder("vgg16.random-fc2-32px", device="cpu")
    assert encoder.vector_name == "vgg16.random-fc2-32px" and encoder.dim == 4096
    assert split_variants("efficientnet-lite0", lambda name: name == "efficientnet-lite0")[0] == "efficientnet-lite0"
    with pytest.raises(InvalidOptionError, match="names image_size 32, but image_size=64"):
        get_encoder("vgg16.random-fc2-32px", image_size=64)


def test_aliases_and_variants_find_their_stored_vectors():
    stored = ["efficientnet_lite0.imagenet1k", "vgg16.imagenet1k_v1-fc2", "clip:ViT-S-32-alt/random-64px"]
    assert find_stored(vector_name_candidates("efficientnet-lite0"), stored) == stored[0]
    assert find_stored(vector_name_candidates("vgg16-fc2"), stored) == stored[1]
    assert find_stored(vector_name_candidates("clip:ViT-S-32-alt.random-64px"), stored) == stored[2]
    assert find_stored(vector_name_candidates("resnet50"), stored) is None


def test_an_ensemble_spec_is_part_of_the_grammar():
    assert parse_members("resnet50*0.5+clip:ViT-S-32-alt/none") == [Member("resnet50", 0.5),
                                                                   Member("clip:ViT-S-32-alt.random", 1.0)]
    assert get_encoder("ensemble:mobilenet_v2.random+clip:ViT-S-32-alt.random", image_size=32, device="cpu").name \
        == "ensemble:mobilenet_v2.random-32px+clip:ViT-S-32-alt.random-32px"


def test_a_collection_that_stores_an_old_spelling_is_not_orphaned(tmp_path, photos):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    clip = get_encoder("clip:ViT-S-32-alt.random", image_size=32, device="cpu")
    old_name = "clip:ViT-S-32-alt/random-32px"  # how embedkit 0.1.0 named these vectors
    first = ingest(f"folder:{folder}", clip, store=store, workers=0, limit=PER_CLASS)
    with open_store(store) as opened:  # rename the vectors as 0.1.0 would have written them
        ids, arrays, payloads = next(opened.iter_points(first.collection, [first.vector_name]))
        record = opened.vector_record(first.collection, first.vector_name)
        opened.drop(first.collection)
        opened.ensure_vector(first.collection, old_name,
                             VectorRecord.from_json({**record.to_json(), "encoder": "clip:ViT-S-32-alt/random"}))
        opened.upsert(first.collection, old_name, ids, arrays[first.vector_name],
                      [{k: v for k, v in p.items() if k != "sample_id"} for p in payloads])
    rest = ingest(f"folder:{folder}", clip, store=store, workers=0)
    assert (rest.vector_name, rest.already_stored, rest.stored) == (old_name, PER_CLASS, PER_CLASS)
    with open_store(store) as opened:
        assert opened.vector_names(first.collection) == [old_name]
        assert np.isclose(np.linalg.norm(opened.get_vectors(first.collection, old_name, ids[:1])), 1.0)


def test_an_ensemble_name_carries_each_members_variants():
    ensemble = get_encoder("ensemble:mobilenet_v2.random-64px+vgg16.random-32px", device="cpu")
    assert ensemble.vector_name == "ensemble:mobilenet_v2.random-64px+vgg16.random-32px"
    assert [m.record.image_size for m in ensemble.members] == [64, 32]


def test_an_ensemble_stored_by_embedkit_0_1_is_found_and_extended(tmp_path, photos):
    folder = make_photo_folder(tmp_path / "photos", photos, corrupt=False)
    store = tmp_path / "store"
    ensemble = get_encoder("ensemble:mobilenet_v2.random+clip:ViT-S-32-alt.random", image_size=32, device="cpu")
    first = ingest(f"folder:{folder}", ensemble, store=store, workers=0, limit=PER_CLASS)
    old_name = first.vector_name.replace("clip:ViT-S-32-alt.random", "clip:ViT-S-32-alt/random")
    with open_store(store) as opened:  # as 0.1.0 wrote it: old member spellings, text preprocessing, its own hash
        ids, arrays, payloads = next(opened.iter_points(first.collection, [first.vector_name]))
        document = json.loads(json.dumps(opened.vector_record(first.collection, first.vector_name).to_json())
                              .replace("clip:ViT-S-32-alt.random", "clip:ViT-S-32-alt/random"))
        for member in document["members"]:
            member["preprocessing"] = "Compose(...)"
        document.update(encoder=old_name, weights_sha256="0" * 64)
        opened.drop(first.collection)
        opened.ensure_vector(first.collection, old_name, VectorRecord.from_json(document))
        opened.upsert(first.collection, old_name, ids, arrays[first.vector_name],
                      [{k: v for k, v in p.items() if k != "sha"} for p in payloads])
    rest = ingest(f"folder:{folder}", ensemble, store=store, workers=0)
    assert (rest.vector_name, rest.already_stored, rest.stored) == (old_name, PER_CLASS, PER_CLASS)
    found = search(first.collection, encoder=old_name, image=photos["cat"], k=2, store=store)
    assert found.vector_name == old_name and len(found.hits) == 2
