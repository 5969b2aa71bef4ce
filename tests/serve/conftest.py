"""One store served to the tests here: 36 coloured images (red, green, blue; train and test) with raw-pixel
image vectors and MiniLM vectors of their captions, and the bench result of the pixel vectors."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="embedkit serve needs the serve extra: pip install 'embedkit[serve]'")

from tests.support.manifests import make_manifest  # noqa: E402

PIXELS = "pixels-8px"
CAPTIONS = "st:all-MiniLM-L6-v2"


@dataclass
class Served:
    store: Path
    """The embedded store (copy it before serving it from another process)."""
    collection: str
    images: Path
    """The folder of the 36 images: img/{split}-{colour}-{index}.png."""
    results: Path


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Served:
    from embedkit.bench import BuildSpec, bench
    from embedkit.ingestion import ingest
    from embedkit.store import open_store

    root = tmp_path_factory.mktemp("served")
    manifest = make_manifest(root / "data", per_class=6)
    results, failures = bench([f"manifest:{manifest}"], ["pixels"], store=root / "store", out_dir=root / "results",
                              image_size=8, build=BuildSpec(workers=0))
    assert not failures
    collection = results[0].provenance["collection"]
    ingest(f"manifest:{manifest}", CAPTIONS, store=root / "store", collection=collection, text_field="caption",
           workers=0, device="cpu")
    with open_store(root / "store") as store:
        assert set(store.vector_names(collection)) == {PIXELS, CAPTIONS}
    return Served(root / "store", collection, root / "data" / "img", root / "results")


@pytest.fixture
def store_copy(served, tmp_path) -> Path:
    """A copy of the served store for one test (one process holds an embedded store at a time)."""
    return Path(shutil.copytree(served.store, tmp_path / "store"))


def sample_id(served: Served, name: str) -> str:
    """The sample id of image `name` (e.g. `test-red-0.png`)."""
    return f"manifest/img/{name}"
