"""The images a collection references, found by sample id (never by a path a client names), as JPEG or PNG bytes.

Each image is decoded once, at a reduced size that every thumbnail size is made from; a decode in progress is
shared by the requests that arrive meanwhile, at most DECODERS run at once, and the decoded and the encoded
images are kept in caches bounded by bytes: memory stays bounded whatever sizes and images are asked for."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Generic, TypeVar

from PIL import Image

from embedkit.datasets import get_dataset
from embedkit.drawing.grid import fit
from embedkit.errors import EmbedkitError, SampleNotFoundError
from embedkit.serve.decoding import load_reduced
from embedkit.store import Store

THUMBNAIL = 192
THUMBNAIL_SIDE = 1024
"""Every thumbnail (`size` up to 1024) is made from the image decoded to fit this box."""
WHOLE_SIDE = 2048
"""An image asked for whole is served at most this many pixels on a side."""
DECODERS = 2
"""Images decoded at once; other requests wait (a decode of a large PNG holds all its pixels for a moment)."""
DECODED_BYTES = 96 * 2**20
ENCODED_BYTES = 64 * 2**20
Value = TypeVar("Value")


class BoundedCache(Generic[Value]):
    """Least recently used first out, bounded by the bytes its values hold; thread-safe."""

    def __init__(self, budget: int, size_of: Callable[[Value], int]):
        self.budget = budget
        self.size_of = size_of
        self.held = 0
        self._items: OrderedDict[Any, Value] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Value | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Any, value: Value) -> None:
        size = self.size_of(value)
        if size > self.budget:
            return
        with self._lock:
            if key in self._items:
                self.held -= self.size_of(self._items.pop(key))
            self._items[key] = value
            self.held += size
            while self.held > self.budget:
                self.held -= self.size_of(self._items.popitem(last=False)[1])


def pixel_bytes(image: Image.Image) -> int:
    return image.width * image.height * len(image.getbands())


class PointImages:
    """Each stored point's image: its source file, or else the sample found again in its dataset.

    A dataset's view and its id -> index map are built once, so that the 10,000th image of an array
    dataset is found without reading the 9,999 before it.
    """

    def __init__(self, store: Store, decoders: int = DECODERS):
        self.store = store
        self._views: dict[tuple[str, str], tuple[Any, dict[str, int]] | None] = {}
        self._decoded: BoundedCache[Image.Image] = BoundedCache(DECODED_BYTES, pixel_bytes)
        self._encoded: BoundedCache[tuple[bytes, str]] = BoundedCache(ENCODED_BYTES, lambda item: len(item[0]))
        self._decoding: dict[tuple[str, str, int], Future] = {}
        self._decoders = threading.BoundedSemaphore(decoders)
        self._flight = threading.Lock()
        self._lock = threading.Lock()

    def encoded(self, collection: str, sample_id: str, size: int | None) -> tuple[bytes, str]:
        """(bytes, media type) of the point's image, fitted into a `size` box when given (None: as stored, up to
        WHOLE_SIDE pixels on a side)."""
        key = (collection, sample_id, size or 0)
        cached = self._encoded.get(key)
        if cached is not None:
            return cached
        image = self.reduced(collection, sample_id, THUMBNAIL_SIDE if size else WHOLE_SIDE)
        if size:
            image = fit(image, size)
        buffer = io.BytesIO()
        # small images (28 px clothes, or upscaled thumbnails of them) stay exact as PNG; photos are far smaller as JPEG
        media = "image/png" if image.width * image.height <= 256 * 256 else "image/jpeg"
        image.save(buffer, format="PNG" if media == "image/png" else "JPEG", quality=88)
        encoded = (buffer.getvalue(), media)
        self._encoded.put(key, encoded)
        return encoded

    def image(self, collection: str, sample_id: str) -> Image.Image:
        """The point's image as it is shown whole (at most WHOLE_SIDE pixels on a side)."""
        return self.reduced(collection, sample_id, WHOLE_SIDE)

    def reduced(self, collection: str, sample_id: str, side: int) -> Image.Image:
        """The point's image fitted into a side x side box (never enlarged), decoded once for all who ask."""
        key = (collection, sample_id, side)
        cached = self._decoded.get(key)
        if cached is not None:
            return cached
        with self._flight:
            pending = self._decoding.get(key)
            owner = pending is None
            if owner:
                pending = self._decoding[key] = Future()
        if not owner:
            return pending.result()
        try:
            with self._decoders:
                image = self._decoded.get(key) or self.decode(collection, sample_id, side)
            self._decoded.put(key, image)
            pending.set_result(image)
            return image
        except BaseException as error:
            pending.set_exception(error)
            raise
        finally:
            with self._flight:
                del self._decoding[key]

    def decode(self, collection: str, sample_id: str, side: int) -> Image.Image:
        payload = self.store.payloads(collection, [sample_id]).get(sample_id)
        if payload is None:
            raise SampleNotFoundError(f"collection {collection!r} has no sample {sample_id!r}")
        source = str(payload.get("source") or "")
        if source and Path(source).is_file():
            return load_reduced(source, side)
        found = self._view(str(payload.get("dataset")), str(payload.get("split")))
        if found is not None and sample_id in found[1]:
            return load_reduced(found[0][found[1][sample_id]].image(), side)
        raise SampleNotFoundError(f"the image of sample {sample_id!r} is neither at its source {source!r} nor in "
                                  f"dataset {payload.get('dataset')!r} here")

    def _view(self, dataset: str, split: str) -> tuple[Any, dict[str, int]] | None:
        with self._lock:
            if (dataset, split) not in self._views:
                try:
                    view = get_dataset(dataset, download=False).view(split)
                    self._views[(dataset, split)] = (view, {view[i].id: i for i in range(len(view))})
                except EmbedkitError:
                    self._views[(dataset, split)] = None
            return self._views[(dataset, split)]
