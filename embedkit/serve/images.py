"""The images a collection references, found by sample id (never by a path a client names), as JPEG or PNG bytes."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from PIL import Image

from embedkit.datasets import get_dataset
from embedkit.errors import EmbedkitError, SampleNotFoundError
from embedkit.images import load_image
from embedkit.drawing.grid import fit
from embedkit.store import Store

THUMBNAIL = 192
CACHED_IMAGES = 2048


class PointImages:
    """Each stored point's image: its source file, or else the sample found again in its dataset.

    A dataset's view and its id -> index map are built once, so that the 10,000th image of an array
    dataset is found without reading the 9,999 before it; encoded images are kept in a bounded cache.
    """

    def __init__(self, store: Store):
        self.store = store
        self._views: dict[tuple[str, str], tuple[Any, dict[str, int]] | None] = {}
        self._encoded: OrderedDict[tuple[str, str, int], tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def encoded(self, collection: str, sample_id: str, size: int | None) -> tuple[bytes, str]:
        """(bytes, media type) of the point's image, fitted into a `size` box when given (None: as stored)."""
        key = (collection, sample_id, size or 0)
        with self._lock:
            if key in self._encoded:
                self._encoded.move_to_end(key)
                return self._encoded[key]
        image = self.image(collection, sample_id)
        if size:
            image = fit(image, size)
        buffer = io.BytesIO()
        # small images (28 px clothes, or upscaled thumbnails of them) stay exact as PNG; photos are far smaller as JPEG
        media = "image/png" if image.width * image.height <= 256 * 256 else "image/jpeg"
        image.save(buffer, format="PNG" if media == "image/png" else "JPEG", quality=88)
        with self._lock:
            self._encoded[key] = (buffer.getvalue(), media)
            while len(self._encoded) > CACHED_IMAGES:
                self._encoded.popitem(last=False)
        return self._encoded.get(key, (buffer.getvalue(), media))

    def image(self, collection: str, sample_id: str) -> Image.Image:
        payload = self.store.payloads(collection, [sample_id]).get(sample_id)
        if payload is None:
            raise SampleNotFoundError(f"collection {collection!r} has no sample {sample_id!r}")
        source = str(payload.get("source") or "")
        if source and Path(source).is_file():
            return load_image(source)
        found = self._view(str(payload.get("dataset")), str(payload.get("split")))
        if found is not None and sample_id in found[1]:
            return found[0][found[1][sample_id]].image()
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
