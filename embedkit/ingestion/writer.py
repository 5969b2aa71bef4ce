"""The one writer of an ingest: encoded batches go into the store from this process while the next ones are
encoded; into a store that takes several writers (a Qdrant server), several batches at a time, each retried
after a failure that may pass. Point ids come from sample ids, so a batch written twice is the same points."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from embedkit.errors import EmbedkitError, StoreFullError
from embedkit.ingestion.encoding import EncodedBatch, Encoding
from embedkit.ingestion.run import IngestRun
from embedkit.store import Store

log = logging.getLogger(__name__)

PARALLEL_UPLOADS = 4
"""Batches written at the same time into a store that takes several writers, unless asked otherwise."""
UPLOAD_ATTEMPTS = 4
UPLOAD_BACKOFF_S = (0.5, 2.0, 5.0)


def uploads_into(store: Store, asked: int | None = None) -> int:
    """Batches written at the same time: as asked, else PARALLEL_UPLOADS into a store that takes several writers
    (a Qdrant server), else 1 (written while the next batch is encoded)."""
    return asked or (PARALLEL_UPLOADS if store.capabilities.parallel_writers else 1)


def write_encoded(run: IngestRun, encoding: Encoding) -> bool:
    """Store each batch `encoding` yields as it comes, while the next ones are encoded (`uploads_into` says how
    many at a time); its unreadable samples are skipped (`IngestRun.skip`). Returns True when interrupted by
    Ctrl-C, once the batches being written are written: nothing is half-written."""
    uploads = uploads_into(run.store, encoding.uploads)
    in_flight: list[tuple[Future[None], int]] = []

    def settle(keep: int) -> None:
        while len(in_flight) > keep:
            future, count = in_flight.pop(0)
            future.result()
            run.state.stored += count

    batches = encoding.batches(run)
    run.report()  # the total is known before the first batch, which may take long (a model's first forward pass)
    with ThreadPoolExecutor(max_workers=uploads, thread_name_prefix="embedkit-writer") as writer:
        try:
            for batch in batches:
                run.skip(batch.failures)
                if batch.ids:
                    settle(uploads - 1)
                    in_flight.append((writer.submit(_upload, run, batch), len(batch.ids)))
                    run.state.encoded += len(batch.ids)
                run.report()
            settle(0)
        except KeyboardInterrupt:
            log.warning("interrupted: finishing the batches being written, then stopping")
            settle(0)
            return True
        except BaseException:
            for future, _ in in_flight:  # wait for the writes in flight, and keep their failures in the log
                if future.exception() is not None:
                    log.error("a batch being written when the run stopped failed too: %s", future.exception())
            raise
        finally:
            _close(batches)
    return False


def _close(batches: Iterator[EncodedBatch]) -> None:
    """End an encoding left before its last batch now (its worker processes, its Ray cluster), not when collected."""
    close = getattr(batches, "close", None)
    if close is not None:
        close()


def _upload(run: IngestRun, batch: EncodedBatch) -> None:
    """One batch into the store, again after a failure that may pass (a server restarting, a timeout): the same
    ids make the same points, so a batch that was in fact written is not written twice."""
    for attempt in range(UPLOAD_ATTEMPTS):
        try:
            run.store.upsert(run.collection, run.vector_name, batch.ids, batch.vectors, batch.payloads)
            return
        except StoreFullError:
            raise  # a full disk does not empty itself
        except EmbedkitError as error:
            if attempt + 1 == UPLOAD_ATTEMPTS or not run.store.capabilities.remote:
                raise
            delay = UPLOAD_BACKOFF_S[min(attempt, len(UPLOAD_BACKOFF_S) - 1)]
            log.warning("writing %d points failed (%s); again in %.1f s", len(batch.ids), error, delay)
            time.sleep(delay)
