"""Images encoded in this process: decoded and preprocessed here or in DataLoader worker processes (decided from
the first batch when not given), embedded here, a batch at a time."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from embedkit.ingestion.encoding import EncodedBatch
from embedkit.ingestion.inputs import EncoderInputs, collate
from embedkit.ingestion.run import Failure, IngestRun
from embedkit.ingestion.workers import die_with_parent
from embedkit.machine import CoreBudget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageEncoding:
    """The images of a run, encoded in this process with `workers` decoding processes (0: decoded here too).

    With `workers` None the first batch is decoded here and timed against its forward pass: when decoding
    costs little next to the encoder (small images in an array file), the rest is decoded here too, since
    worker processes would take CPU time from the forward pass; otherwise the cores are split between decoding
    processes and the forward pass's threads (`embedkit.machine.split_cores`)."""

    workers: int | None = None
    uploads: int | None = None

    def batches(self, run: IngestRun) -> Iterator[EncodedBatch]:
        with CoreBudget() as cores:
            yield from self._batches(run, cores)

    def _batches(self, run: IngestRun, cores: CoreBudget) -> Iterator[EncodedBatch]:
        inputs = EncoderInputs(run.view, run.todo, run.model.preprocess, run.reading)
        rest: torch.utils.data.Dataset = inputs
        workers = self.workers
        if workers is None:
            first = min(run.batch_size, len(inputs))
            started = time.perf_counter()
            batch = collate([inputs[i] for i in range(first)])
            decoding = time.perf_counter() - started
            started = time.perf_counter()
            encoded = _embed(run, *batch)
            forward = time.perf_counter() - started
            yield encoded
            workers = cores.split(decoding, forward)
            log.info("decoding took %.0f%% of the forward pass: %s", 100 * decoding / max(forward, 1e-9),
                     "decoding in this process" if not workers else f"decoding in {workers} worker processes")
            rest = torch.utils.data.Subset(inputs, range(first, len(inputs)))
        run.workers = workers
        loader = torch.utils.data.DataLoader(
            rest, batch_size=run.batch_size, num_workers=workers, collate_fn=collate,
            pin_memory=run.model.device.type == "cuda", persistent_workers=False,
            prefetch_factor=4 if workers else None, worker_init_fn=die_with_parent if workers else None,
        )
        for batch in loader:
            yield _embed(run, *batch)


def _embed(run: IngestRun, records: list[dict[str, Any]], pixels: torch.Tensor | None,
           failures: list[Failure]) -> EncodedBatch:
    vectors = run.model.embed_pixels(pixels) if pixels is not None else None
    return EncodedBatch.of(records, vectors, failures)
