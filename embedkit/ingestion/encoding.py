"""The one interface of the ways an ingest encodes its samples (images in this process, a text field in this
process, images on Ray): each yields encoded batches, which the run's one writer (`writer.py`) stores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from embedkit.ingestion.run import Failure, IngestRun


@dataclass
class EncodedBatch:
    """Vectors for some samples, with their ids and payloads, and the samples of the batch that could not be read."""

    ids: list[str] = field(default_factory=list)
    vectors: np.ndarray | None = None
    payloads: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @classmethod
    def of(cls, records: list[dict[str, Any]], vectors: np.ndarray | None, failures: list[Failure]) -> EncodedBatch:
        """A batch from payloads that still hold their sample id (`inputs.sample_payload`): the ids go apart."""
        ids = [record.pop("sample_id") for record in records]
        return cls(ids, vectors if ids else None, records, failures)


class Encoding(Protocol):
    """How a run's samples become vectors, chosen once for the run (`modality.py`)."""

    uploads: int | None
    """Batches to write at the same time, where asked (None: as the store allows, `writer.uploads_into`)."""

    def batches(self, run: IngestRun) -> Iterator[EncodedBatch]:
        """Encode `run.todo`, a batch at a time, each yielded as soon as it is encoded (the writer stores it
        while the next one is encoded); sets `run.workers` when images are decoded."""
        ...
