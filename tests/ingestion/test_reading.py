"""How files were read (background under transparency, reduced JPEG decoding) is part of a vector's record:
vectors read another way are refused under the same name, and a query image is read as the files were."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from embedkit.encoders import get_encoder
from embedkit.errors import SchemaMismatchError
from embedkit.ingestion import IngestOptions, ingest
from embedkit.records import Reading
from embedkit.retrieval import search
from embedkit.store import open_store


@pytest.fixture(scope="module")
def encoder():
    return get_encoder("mobilenet_v2.random", image_size=64, device="cpu")


def cut_out(colour_under_alpha: tuple[int, int, int]) -> Image.Image:
    """A red disc on a fully transparent square whose hidden pixels are `colour_under_alpha`."""
    image = Image.new("RGBA", (96, 96), (*colour_under_alpha, 0))
    disc = Image.new("L", (96, 96), 0)
    from PIL import ImageDraw

    ImageDraw.Draw(disc).ellipse((20, 20, 76, 76), fill=255)
    image.paste(Image.new("RGBA", (96, 96), (200, 30, 30, 255)), mask=disc)
    return image


def test_the_reading_is_recorded_and_another_background_is_refused_before_any_write(tmp_path, photos, encoder):
    folder = tmp_path / "cutouts" / "disc"
    folder.mkdir(parents=True)
    for index, hidden in enumerate([(0, 255, 0), (0, 0, 255)]):
        cut_out(hidden).save(folder / f"{index}.png")
    store = tmp_path / "store"
    first = ingest(f"folder:{folder.parent}", encoder, store=store, workers=0, options=IngestOptions(background="black"))
    with open_store(store) as opened:
        assert opened.vector_record(first.collection, first.vector_name).reading == Reading("#000000", True)
        before = opened.get_vectors(first.collection, first.vector_name, ["folder/disc/0.png", "folder/disc/1.png"])
    with pytest.raises(SchemaMismatchError, match="--background #000000"):
        ingest(f"folder:{folder.parent}", encoder, store=store, workers=0, options=IngestOptions(prune_missing=True))
    with open_store(store) as opened:
        after = opened.get_vectors(first.collection, first.vector_name, ["folder/disc/0.png", "folder/disc/1.png"])
        assert opened.count(first.collection) == 2
    np.testing.assert_array_equal(before, after)
    # The hidden colours do not matter once composited: both cut-outs give one vector.
    np.testing.assert_allclose(before[0], before[1], atol=1e-6)


def test_a_query_image_is_read_as_the_stored_files_were(tmp_path, photos, encoder):
    folder = tmp_path / "big" / "cat"
    folder.mkdir(parents=True)
    photos["cat"].resize((1400, 1050)).save(folder / "cat.jpg", quality=92)
    photos["coffee"].resize((1400, 1050)).save(folder / "coffee.jpg", quality=92)
    store = tmp_path / "store"
    report = ingest(f"folder:{folder.parent}", encoder, store=store, workers=0, options=IngestOptions(reduced_decoding=False))
    with open_store(store) as opened:
        assert opened.vector_record(report.collection, report.vector_name).reading == Reading("#ffffff", False)
        stored = opened.get_vectors(report.collection, report.vector_name, ["folder/cat/cat.jpg"])[0]
    reduced = encoder.encode_images([folder / "cat.jpg"])[0]  # the default reading decodes at 1/8 scale
    assert not np.allclose(reduced, stored, atol=1e-6), "reduced and full decoding should give different vectors"
    result = search(report.collection, image=folder / "cat.jpg", k=1, store=store)
    assert result.hits[0].sample_id == "folder/cat/cat.jpg"
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-5)
