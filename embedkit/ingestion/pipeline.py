"""Dataset -> encoder -> store: streaming, batched, resumable, idempotent."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import torch

from embedkit.datasets import Dataset, DatasetView, get_dataset
from embedkit.encoders import Encoder, get_encoder
from embedkit.errors import ImageLoadError, InvalidOptionError, TextNotSupportedError
from embedkit.store import Store, using_store

log = logging.getLogger(__name__)

ID_CHECK_CHUNK = 4096

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

    @property
    def images_per_second(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.encoded / elapsed if elapsed > 0 else 0.0


@dataclass
class IngestReport:
    collection: str
    vector_name: str
    dataset: str
    split: str | None
    total: int
    already_stored: int
    stored: int
    failures: list[Failure]
    seconds: float
    """The whole run, index build included."""
    index_seconds: float = 0.0
    """Of which building the store's index (HNSW) after the load."""
    interrupted: bool = False

    @property
    def images_per_second(self) -> float:
        return (self.stored + len(self.failures)) / self.seconds if self.seconds > 0 else 0.0


def default_collection_name(dataset_name: str) -> str:
    """`fashion-mnist` stays as it is; `folder:/data/shoes` becomes `folder-shoes`."""
    prefix, sep, rest = dataset_name.partition(":")
    if sep:
        stem = re.sub(r"\.[A-Za-z0-9]+$", "", rest.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1])
        dataset_name = f"{prefix}-{stem}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset_name).strip("-.") or "embedkit"


class EncoderInputs(torch.utils.data.Dataset):
    """The samples to encode; decoded and preprocessed in DataLoader workers."""

    def __init__(self, view: DatasetView, indices: Sequence[int], preprocess: Callable[[Any], torch.Tensor]):
        self.view = view
        self.indices = list(indices)
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[dict[str, Any], torch.Tensor | None, str | None]:
        sample = self.view[self.indices[position]]
        record = {
            **dict(sample.payload),
            "sample_id": sample.id,
            "dataset": self.view.dataset_name,
            "split": sample.split,
            "label": sample.label,
            "label_name": sample.label_name,
            "source": sample.source,
        }
        try:
            return record, self.preprocess(sample.image()), None
        except ImageLoadError as error:
            return record, None, str(error)
        except Exception as error:  # a preprocessing bug on one image must not end a long ingest
            return record, None, f"{type(error).__name__}: {error}"


def collate(items: list[tuple[dict[str, Any], torch.Tensor | None, str | None]]):
    good = [(record, tensor) for record, tensor, error in items if error is None]
    bad = [Failure(record["sample_id"], record["source"], error) for record, _, error in items if error is not None]
    pixels = torch.stack([tensor for _, tensor in good]) if good else None
    return [record for record, _ in good], pixels, bad


def text_vector_name(encoder: Encoder, text_field: str) -> str:
    """A text-only encoder stores a text field under its own name (so a search by text finds it); an
    image+text encoder under `NAME@FIELD`, beside its image vectors."""
    return f"{encoder.vector_name}@{text_field}" if encoder.embeds_images else encoder.vector_name


def samples_to_encode(view: DatasetView, store: Store, collection: str, vector_name: str) -> list[int]:
    """Indices of the view whose samples do not have this vector in the store yet."""
    todo: list[int] = []
    for start in range(0, len(view), ID_CHECK_CHUNK):
        indices = range(start, min(start + ID_CHECK_CHUNK, len(view)))
        ids = [view[i].id for i in indices]
        missing = set(store.missing_ids(collection, vector_name, ids))
        todo.extend(i for i, sample_id in zip(indices, ids) if sample_id in missing)
    return todo


def ingest(
    dataset: str | Dataset,
    encoder: str | Encoder,
    *,
    split: str | None = None,
    limit: int | None = None,
    batch_size: int = 64,
    workers: int = 2,
    collection: str | None = None,
    store: Store | str | None = None,
    strict: bool = False,
    data_dir: str | None = None,
    progress: ProgressCallback | None = None,
    text_field: str | None = None,
    **encoder_options: Any,
) -> IngestReport:
    """Embed the samples of `dataset` that the collection lacks and store them under the encoder's vector.

    Re-running after an interruption encodes only what is missing. `store` is an open Store, a
    location for `open_store` (a path or an http(s) URL), or None for the default embedded store.
    Unreadable images are skipped and listed in the report; with `strict=True` the first one raises.
    With `text_field`, the text of that payload field (a manifest column such as `caption`) is embedded
    instead of the image, by an encoder that embeds text, under `text_vector_name(encoder, text_field)`.
    """
    started = time.perf_counter()
    data = get_dataset(dataset, data_dir=data_dir) if isinstance(dataset, str) else dataset
    view = data.view(split, limit)
    model = get_encoder(encoder, **encoder_options) if isinstance(encoder, str) else encoder
    if text_field is not None and not model.embeds_text:
        raise TextNotSupportedError(f"encoder {model.name} embeds images only; embed the text field "
                                    f"{text_field!r} with a text encoder (st:..., clip:...)")
    if text_field is not None and len(view) and text_field not in view[0].payload:
        raise InvalidOptionError(f"dataset {data.name} has no text field {text_field!r} (its samples have: "
                                 f"{', '.join(view[0].payload) or 'none'}); name a column of the manifest")
    if text_field is None and not model.embeds_images:
        raise TextNotSupportedError(f"encoder {model.name} does not embed images; ingest images with an image encoder, "
                                    f"or embed a text column with --text-field")
    collection = collection or default_collection_name(data.name)
    vector_name = model.vector_name if text_field is None else text_vector_name(model, text_field)
    info = model.describe() if text_field is None else {**model.describe(), "text_field": text_field}
    with using_store(store) as target:
        target.ensure_vector(collection, vector_name, model.dim, info)  # fails before any write
        todo = samples_to_encode(view, target, collection, vector_name)
        state = IngestProgress(total=len(view), to_encode=len(todo))
        failures: list[Failure] = []
        interrupted = False
        index_seconds = 0.0
        if todo and text_field is not None:
            interrupted = _encode_texts_and_store(view, todo, model, target, collection, vector_name, text_field,
                                                  batch_size, strict, state, failures, progress)
        elif todo:
            interrupted = _encode_and_store(view, todo, model, target, collection, vector_name,
                                            batch_size, workers, strict, state, failures, progress)
        if state.stored and not interrupted:  # an interrupted run stops at once; the re-run builds the index
            index_started = time.perf_counter()
            target.optimize(collection)
            index_seconds = time.perf_counter() - index_started
        target.flush()
        return IngestReport(
            collection=collection, vector_name=vector_name, dataset=data.name, split=split,
            total=len(view), already_stored=len(view) - len(todo), stored=state.stored,
            failures=failures, seconds=time.perf_counter() - started, index_seconds=index_seconds,
            interrupted=interrupted,
        )


def _encode_and_store(
    view: DatasetView,
    todo: list[int],
    model: Encoder,
    store: Store,
    collection: str,
    vector_name: str,
    batch_size: int,
    workers: int,
    strict: bool,
    state: IngestProgress,
    failures: list[Failure],
    progress: ProgressCallback | None,
) -> bool:
    """Encode batch k while batch k-1 is written. Returns True when interrupted by Ctrl-C."""
    loader = torch.utils.data.DataLoader(
        EncoderInputs(view, todo, model.preprocess),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=model.device.type == "cuda",
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
    )
    pending: Future[None] | None = None
    pending_count = 0

    def finish_pending() -> None:
        nonlocal pending, pending_count
        if pending is not None:
            pending.result()
            state.stored += pending_count
            pending, pending_count = None, 0

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedkit-writer") as writer:
        try:
            for records, pixels, bad in loader:
                if bad:
                    if strict:
                        raise ImageLoadError(f"sample {bad[0].sample_id}: {bad[0].reason}")
                    failures.extend(bad)
                    state.failed += len(bad)
                    for failure in bad:
                        log.warning("skipped: %s", failure.reason)
                if pixels is not None:
                    vectors = model.embed_pixels(pixels)
                    finish_pending()
                    ids = [record.pop("sample_id") for record in records]
                    pending = writer.submit(store.upsert, collection, vector_name, ids, vectors, records)
                    pending_count = len(ids)
                    state.encoded += len(ids)
                if progress is not None:
                    progress(state)
        except KeyboardInterrupt:
            log.warning("interrupted: finishing the batch being written, then stopping")
            finish_pending()
            return True
        except BaseException:
            # wait for the write in flight, so nothing is half-written, and keep its failure in the log
            failed_write = pending.exception() if pending is not None else None
            if failed_write is not None:
                log.error("the batch being written when the run stopped failed too: %s", failed_write)
            raise
        finish_pending()
    return False


def _encode_texts_and_store(
    view: DatasetView,
    todo: list[int],
    model: Encoder,
    store: Store,
    collection: str,
    vector_name: str,
    text_field: str,
    batch_size: int,
    strict: bool,
    state: IngestProgress,
    failures: list[Failure],
    progress: ProgressCallback | None,
) -> bool:
    """Embed the text of `text_field` of each sample; a sample without text is a failure, like an unreadable image."""
    try:
        for start in range(0, len(todo), batch_size):
            records, texts = [], []
            for index in todo[start : start + batch_size]:
                sample = view[index]
                text = sample.payload.get(text_field)
                if not isinstance(text, str) or not text.strip():
                    failure = Failure(sample.id, sample.source, f"sample {sample.id!r} has no text in {text_field!r}")
                    if strict:
                        raise InvalidOptionError(failure.reason)
                    failures.append(failure)
                    state.failed += 1
                    continue
                texts.append(text)
                records.append({**dict(sample.payload), "dataset": view.dataset_name, "split": sample.split,
                                "label": sample.label, "label_name": sample.label_name, "source": sample.source,
                                "sample_id": sample.id})
            if texts:
                vectors = model.encode_texts(texts, batch_size=batch_size)
                ids = [record.pop("sample_id") for record in records]
                store.upsert(collection, vector_name, ids, vectors, records)
                state.encoded += len(ids)
                state.stored += len(ids)
            if progress is not None:
                progress(state)
    except KeyboardInterrupt:
        log.warning("interrupted: stopping after the last stored batch")
        return True
    return False
