"""A small collection with two named vectors, served by `create_app` through uvicorn on a loopback port, and
the official qdrant-client pointed at its /qdrant prefix."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="embedkit serve needs the serve extra: pip install 'embedkit[serve]'")

from tests.serve.running import free_port  # noqa: E402

COLLECTION = "pets"
IMAGES, TEXTS = "pixels-8px", "st:all-MiniLM-L6-v2"
SIZES = {IMAGES: 8, TEXTS: 4}
POINTS = 40
KEY = "s3cret-key"


@dataclass
class Server:
    url: str
    """The base URL of the whole server (its Qdrant API is under /qdrant)."""
    store: object
    """The store it serves, opened in this process: the same calls made directly."""

    @property
    def qdrant(self) -> str:
        return f"{self.url}/qdrant"


def fill(store_path: Path | str, names: tuple[str, str] = (IMAGES, TEXTS)) -> None:
    """Write the collection: label 0-3, split train/test, colour, a float `weight`; both vectors (named `names`)
    on most points."""
    from embedkit.records import VectorRecord
    from embedkit.store import open_store

    rng = np.random.default_rng(7)
    with open_store(store_path) as store:
        images, texts = names
        store.ensure_vector(COLLECTION, images, VectorRecord("pixels", SIZES[IMAGES], "image", image_size=8))
        store.ensure_vector(COLLECTION, texts, VectorRecord("st:all-MiniLM-L6-v2", SIZES[TEXTS], "text"))
        ids = [f"sample/{i:03d}" for i in range(POINTS)]
        payloads = [{"label": i % 4, "split": "test" if i % 3 == 0 else "train",
                     "colour": ["red", "green", "blue"][i % 3], "weight": float(i) / 4} for i in range(POINTS)]
        for name, size in zip(names, SIZES.values()):
            chosen = [i for i in range(POINTS) if name == images or i % 5]  # 8 points have no text vector
            store.upsert(COLLECTION, name, [ids[i] for i in chosen], rng.normal(size=(len(chosen), size)),
                         [payloads[i] for i in chosen])


@contextmanager
def serving(store_path: Path, **settings: object) -> Iterator[Server]:
    import uvicorn

    from embedkit.serve import ServeSettings, create_app
    from embedkit.store import open_store

    with open_store(store_path) as store:
        port = free_port()
        app = create_app(store, ServeSettings(**settings))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.02)
        try:
            yield Server(f"http://127.0.0.1:{port}", store)
        finally:
            server.should_exit = True
            thread.join(10)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("qdrant-api") / "store"
    fill(path)
    return path


@pytest.fixture(scope="module")
def server(store_path) -> Iterator[Server]:
    """A read-only Qdrant API with an access key."""
    with serving(store_path, api_key=KEY) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    from qdrant_client import QdrantClient

    client = QdrantClient(url=server.qdrant, prefer_grpc=False, api_key=KEY, https=False)
    yield client
    client.close()
