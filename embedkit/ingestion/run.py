"""An ingest run as its encoding and its writer share it: the samples to do, where their vectors go, how it is
going, and the samples that could not be read."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from embedkit.datasets import DatasetView
from embedkit.encoders import Encoder
from embedkit.errors import ImageLoadError
from embedkit.images import ReadOptions
from embedkit.store import Store

log = logging.getLogger(__name__)


ProgressCallback = Callable[["IngestProgress"], None]


@dataclass
class Failure:
    """A sample that could not be read; it is reported, not stored."""

    sample_id: str
    source: str
    reason: str


@dataclass
class IngestProgress:
    total: int
    """Samples in the dataset view."""
    to_encode: int
    """Samples this run has to encode (those not stored yet)."""
    encoded: int = 0
    stored: int = 0
    failed: int = 0
    started: float = field(default_factory=time.perf_counter)
    stage: str = "encoding"
    """"encoding", then "building the index" (the store's HNSW, after the last batch)."""

    @property
    def images_per_second(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.encoded / elapsed if elapsed > 0 else 0.0


@dataclass
class IngestRun:
    """What the encoding and the writer share: the samples to do, where their vectors go, and how it is going."""

    view: DatasetView
    todo: list[int]
    model: Encoder
    store: Store
    collection: str
    vector_name: str
    batch_size: int
    strict: bool
    state: IngestProgress
    progress: ProgressCallback | None
    reading: ReadOptions = field(default_factory=ReadOptions)
    failures: list[Failure] = field(default_factory=list)
    workers: int | None = None
    """The decoding processes used (0: decoding in this process); None until images are encoded."""

    def skip(self, failures: list[Failure]) -> None:
        if failures and self.strict:
            raise ImageLoadError(f"sample {failures[0].sample_id}: {failures[0].reason}")
        self.failures.extend(failures)
        self.state.failed += len(failures)
        for failure in failures:  # the report lists them: logged for --debug only
            log.info("skipped: %s", failure.reason)

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.state)
