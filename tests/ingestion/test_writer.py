"""The one writer of an ingest: each encoded batch stored from this process while the next one is encoded, its
unreadable samples skipped; into a store that takes several writers, several batches at a time, each retried
after a failure that may pass (a full disk is not); Ctrl-C finishes the batches being written."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pytest

from embedkit.errors import ImageLoadError, StoreFullError, StoreWriteError
from embedkit.store import store_backend
from embedkit.ingestion import writer
from embedkit.ingestion.encoding import EncodedBatch
from embedkit.ingestion.run import Failure, IngestProgress, IngestRun


class FakeStore:
    """Records the ids of each write; raises the errors of `failures` first, one per write."""

    def __init__(self, location: str, failures: tuple[Exception, ...] = ()):
        self.location = location
        self.capabilities = store_backend(location).info["capabilities"]  # as the backend of such a location says
        self.failures = list(failures)
        self.written: list[list[str]] = []
        self.lock = threading.Lock()

    def upsert(self, collection, vector_name, ids, vectors, payloads):
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.written.append(list(ids))


@dataclass
class GivenBatches:
    """An `Encoding` that yields the batches it was given, then raises `then` (if any); `closed` tells whether
    the writer ended it."""

    given: list[EncodedBatch]
    then: BaseException | None = None
    uploads: int | None = None
    closed: list[bool] = field(default_factory=list)

    def batches(self, run):
        try:
            yield from self.given
            if self.then is not None:
                raise self.then
        finally:
            self.closed.append(True)


def batch(*ids: str, failed: tuple[str, ...] = ()) -> EncodedBatch:
    return EncodedBatch(list(ids), np.ones((len(ids), 2), dtype=np.float32), [{"label": 0} for _ in ids],
                        [Failure(sample_id, f"/{sample_id}", "unreadable") for sample_id in failed])


def make_run(store, strict: bool = False) -> IngestRun:
    return IngestRun(view=None, todo=[], model=None, store=store, collection="c", vector_name="v", batch_size=2,
                     strict=strict, state=IngestProgress(total=5, to_encode=5), progress=None)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(writer, "UPLOAD_BACKOFF_S", (0.0,))


def test_each_batch_is_stored_and_counted_and_its_unreadable_samples_listed():
    store = FakeStore("/tmp/store")
    run = make_run(store)
    heard = []
    run.progress = lambda state: heard.append((state.encoded, state.failed))
    encoding = GivenBatches([batch("a", "b"), batch(failed=("c",)), batch("d", failed=("e",))])
    assert writer.write_encoded(run, encoding) is False
    assert store.written == [["a", "b"], ["d"]]
    assert (run.state.encoded, run.state.stored, run.state.failed) == (3, 3, 2)
    assert [failure.sample_id for failure in run.failures] == ["c", "e"]
    # a progress report before the first batch (the total is known then), and after every batch, the empty one too
    assert heard == [(0, 0), (2, 0), (2, 1), (3, 2)]


def test_strict_raises_at_the_first_unreadable_sample_and_ends_the_encoding():
    encoding = GivenBatches([batch("a"), batch(failed=("b",)), batch("c")])
    with pytest.raises(ImageLoadError, match="sample b: unreadable"):
        writer.write_encoded(make_run(FakeStore("/tmp/store"), strict=True), encoding)
    assert encoding.closed == [True]


def test_a_failure_that_may_pass_is_retried_into_a_server_but_not_into_an_embedded_store():
    server = FakeStore("http://qdrant:6333", (StoreWriteError("timed out"), StoreWriteError("timed out")))
    run = make_run(server)
    writer.write_encoded(run, GivenBatches([batch("a", "b")]))
    assert server.written == [["a", "b"]] and run.state.stored == 2

    embedded = FakeStore("/tmp/store", (StoreWriteError("timed out"),))
    with pytest.raises(StoreWriteError, match="timed out"):
        writer.write_encoded(make_run(embedded), GivenBatches([batch("a", "b")]))
    assert embedded.written == []


def test_a_full_disk_is_not_retried_and_a_failure_that_lasts_is_raised_after_the_last_attempt():
    full = FakeStore("https://qdrant", (StoreFullError("no space left on device"), StoreWriteError("again")))
    with pytest.raises(StoreFullError, match="space"):
        writer.write_encoded(make_run(full), GivenBatches([batch("a")]))
    assert len(full.failures) == 1  # not tried again: the second error was never met

    lasting = FakeStore("https://qdrant", tuple(StoreWriteError(f"down {n}") for n in range(writer.UPLOAD_ATTEMPTS)))
    with pytest.raises(StoreWriteError, match=f"down {writer.UPLOAD_ATTEMPTS - 1}"):
        writer.write_encoded(make_run(lasting), GivenBatches([batch("a")]))


def test_batches_are_written_several_at_a_time_only_where_the_store_takes_several_writers():
    assert writer.uploads_into(FakeStore("http://qdrant:6333")) == writer.PARALLEL_UPLOADS
    assert writer.uploads_into(FakeStore("/home/me/.local/share/embedkit/qdrant")) == 1
    assert writer.uploads_into(FakeStore("http://qdrant:6333"), 2) == 2
    assert writer.uploads_into(FakeStore(":memory:")) == 1


def test_ctrl_c_finishes_the_batches_being_written_and_ends_the_encoding():
    store = FakeStore("http://qdrant:6333")
    run = make_run(store)
    encoding = GivenBatches([batch("a"), batch("b"), batch("c")], then=KeyboardInterrupt())
    assert writer.write_encoded(run, encoding) is True
    assert sorted(store.written) == [["a"], ["b"], ["c"]] and run.state.stored == 3
    assert encoding.closed == [True]


def test_an_encoding_stopped_by_a_failed_write_is_ended_at_once():
    encoding = GivenBatches([batch("a"), batch("b"), batch("c"), batch("d")])
    with pytest.raises(StoreWriteError):
        writer.write_encoded(make_run(FakeStore("/tmp/store", (StoreWriteError("broken"),))), encoding)
    assert encoding.closed == [True]  # its worker processes or Ray cluster go now, not when collected
