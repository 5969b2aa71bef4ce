"""Dynamic batching of query embeddings: concurrent requests for one encoder share one forward pass.

Each request reads and preprocesses its image in its own thread, then hands the tensor to the encoder's
batcher. One worker thread per batcher takes what is queued, waits up to `max_wait` seconds for more while
other requests are still on their way (announced with `expect`), and embeds up to `max_batch` queries at once.
A lone request never waits: with nothing else on its way, its batch of one runs at once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import numpy as np

from embedkit.images import ImageInput, ReadOptions, load_image

DEFAULT_MAX_BATCH = 32
DEFAULT_MAX_WAIT_MS = 5.0


class QueryBatcher:
    """Runs `embed` (a list of queries -> an (n, dim) array) on batches of what concurrent callers `submit`."""

    def __init__(self, embed: Callable[[list[Any]], np.ndarray], *, max_batch: int = DEFAULT_MAX_BATCH,
                 max_wait: float = DEFAULT_MAX_WAIT_MS / 1000, name: str = "queries"):
        self.embed = embed
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait)
        self.batches: list[int] = []
        """The size of each batch run so far (the last 1,000)."""
        self._queue: queue.Queue[tuple[Any, Future] | None] = queue.Queue()
        self._coming = 0
        self._coming_lock = threading.Lock()
        self._worker = threading.Thread(target=self._run, name=f"embedkit-batcher-{name}", daemon=True)
        self._worker.start()

    @contextmanager
    def expect(self) -> Iterator[None]:
        """Announce a query that will be submitted in this block: the worker may wait for it to join a batch."""
        with self._coming_lock:
            self._coming += 1
        try:
            yield
        finally:
            with self._coming_lock:
                self._coming -= 1

    def submit(self, query: Any) -> np.ndarray:
        """The embedding of `query`, computed in a batch with others; an error of the batch is raised here."""
        done: Future = Future()
        self._queue.put((query, done))
        return done.result()

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        closed = False
        while not closed:
            first = self._queue.get()
            if first is None:
                return
            batch, closed = self._gather(first)
            self._answer(batch)

    def _gather(self, first: tuple[Any, Future]) -> tuple[list[tuple[Any, Future]], bool]:
        """`first` and what else is queued, waiting up to `max_wait` while announced queries are on their way;
        and whether `close` came meanwhile (after it, nothing more is submitted)."""
        batch = [first]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0 or not self._others_coming(len(batch)):
                    break
                try:  # a short wait, then the announced count is asked again
                    item = self._queue.get(timeout=min(left, 0.001))
                except queue.Empty:
                    continue
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _others_coming(self, gathered: int) -> bool:
        """Whether queries announced by `expect` have yet to be submitted (each gathered one was announced)."""
        with self._coming_lock:
            return self._coming > gathered

    def _answer(self, batch: list[tuple[Any, Future]]) -> None:
        if not batch:
            return
        self.batches = [*self.batches[-999:], len(batch)]
        try:
            vectors = self.embed([query for query, _ in batch])
        except BaseException as error:  # every waiting request gets the batch's error
            for _, done in batch:
                done.set_exception(error)
            return
        for row, (_, done) in enumerate(batch):
            done.set_result(vectors[row])


class BatchedEncoder:
    """An encoder whose `encode_images` and `encode_texts` go through batchers shared by concurrent requests;
    everything else is the encoder's own."""

    def __init__(self, encoder: Any, *, max_batch: int = DEFAULT_MAX_BATCH, max_wait: float = DEFAULT_MAX_WAIT_MS / 1000):
        self.encoder = encoder
        self.images = QueryBatcher(self._embed_pixels, max_batch=max_batch, max_wait=max_wait, name="images") \
            if encoder.embeds_images else None
        self.texts = QueryBatcher(encoder.encode_texts, max_batch=max_batch, max_wait=max_wait, name="texts") \
            if encoder.embeds_text else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.encoder, name)

    @contextmanager
    def expect(self) -> Iterator[None]:
        """Announce a query this thread is about to embed (see `QueryBatcher.expect`)."""
        with self.images.expect() if self.images else _nothing(), self.texts.expect() if self.texts else _nothing():
            yield

    def encode_images(self, images: Sequence[ImageInput], batch_size: int = 32) -> np.ndarray:
        if self.images is None:
            return self.encoder.encode_images(images, batch_size)  # raises the encoder's own error
        reading = ReadOptions.from_environment(draft_size=self.encoder.input_size)
        pixels = [self.encoder.preprocess(load_image(image, reading)) for image in images]  # in this request's thread
        return np.stack([self.images.submit(tensor) for tensor in pixels])

    def encode_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if self.texts is None:
            return self.encoder.encode_texts(texts, batch_size)
        return np.stack([self.texts.submit(text) for text in texts])

    def close(self) -> None:
        for batcher in (self.images, self.texts):
            if batcher is not None:
                batcher.close()

    def _embed_pixels(self, pixels: list[Any]) -> np.ndarray:
        import torch

        return self.encoder.embed_pixels(torch.stack(pixels))


@contextmanager
def _nothing() -> Iterator[None]:
    yield
