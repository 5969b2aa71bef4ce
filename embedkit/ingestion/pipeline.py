"""Dataset -> encoder -> store: streaming, batched, resumable, idempotent."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from embedkit.datasets import Dataset, get_dataset
from embedkit.encoders import Encoder, get_encoder
from embedkit.encoders.names import find_stored
from embedkit.errors import InvalidOptionError
from embedkit.images import ReadOptions
from embedkit.ingestion.freshness import CONTENT_FIELD, check_dataset, prune
from embedkit.ingestion.modality import Images, TextField
from embedkit.ingestion.options import IngestOptions, refuse_ingest_options
from embedkit.ingestion.ray import prepare_ray
from embedkit.ingestion.run import Failure, IngestProgress, IngestRun, ProgressCallback
from embedkit.ingestion.writer import write_encoded
from embedkit.store import Store, using_store

log = logging.getLogger(__name__)


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
    changed: int = 0
    """Of those stored, samples whose file changed since they were embedded."""
    pruned: int = 0
    """Points deleted because their samples are no longer in the dataset."""
    workers: int | None = None
    """Decoding processes used (0: in this process); None when no image was encoded."""

    @property
    def images_per_second(self) -> float:
        return (self.stored + len(self.failures)) / self.seconds if self.seconds > 0 else 0.0


def default_collection_name(dataset_name: str) -> str:
    """`fashion-mnist` stays as it is; `folder:/data/shoes` becomes `folder-shoes`, and a glob is named by its
    folder: `webdataset:/data/laion/*.tar` becomes `webdataset-laion`."""
    prefix, sep, rest = dataset_name.partition(":")
    if sep:
        parts = rest.rstrip("/\\").replace("\\", "/").split("/")
        while len(parts) > 1 and any(char in parts[-1] for char in "*?["):
            parts.pop()
        stem = re.sub(r"\.[A-Za-z0-9]+$", "", parts[-1])
        dataset_name = f"{prefix}-{stem}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset_name).strip("-.") or "embedkit"


def ingest(
    dataset: str | Dataset,
    encoder: str | Encoder,
    *,
    split: str | None = None,
    limit: int | None = None,
    collection: str | None = None,
    store: Store | str | None = None,
    text_field: str | None = None,
    batch_size: int = 64,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    options: IngestOptions | None = None,
    **encoder_options: Any,
) -> IngestReport:
    """Embed the samples of `dataset` that the collection lacks and store them under the encoder's vector.

    Re-running after an interruption encodes only what is missing. `store` is an open Store, a
    location for `open_store` (a path or an http(s) URL), or None for the default embedded store.
    Unreadable images are skipped and listed in the report (`IngestOptions.strict`: the first one raises).
    `workers` decoding processes (None: decided from the first batch, see `image_encoding.ImageEncoding`).
    With `text_field`, the text of that payload field (a manifest column such as `caption`) is embedded
    instead of the image, by an encoder that embeds text, under `names.text_vector_name`.

    A sample whose file changed since it was embedded is embedded again (its other vectors, stale too, are
    removed). `options` (`IngestOptions`) hold the rest: how images are read, whether another dataset may join
    the collection and missing samples' points go, Ray, and the layout of a new collection. With `options.ray`
    the images are decoded and embedded on a Ray cluster and written here; what is chosen, recorded and indexed
    stays as it is. While points stream in, a server builds no index (a bulk load); the index is built once at
    the end.
    """
    started = time.perf_counter()
    refuse_ingest_options(encoder_options)
    options = options or IngestOptions()
    if options.ray is not None:
        prepare_ray(options.ray)  # a missing extra or an unreachable cluster is refused before any work
    data = get_dataset(dataset, data_dir=options.data_dir) if isinstance(dataset, str) else dataset
    view = data.view(split, limit)
    model = get_encoder(encoder, **encoder_options) if isinstance(encoder, str) else encoder
    modality = Images() if text_field is None else TextField(text_field)  # chosen once
    modality.check(model, view, data.name)
    collection = collection or default_collection_name(data.name)
    reading = ReadOptions.from_environment(options.background,
                                           model.input_size if options.reduced_decoding else None)
    vector_name, record = modality.vector(model, reading)
    if options.prune_missing and limit is not None:
        raise InvalidOptionError("--prune compares the whole dataset with the collection; leave out --limit")
    with using_store(store, collection_options=options.collection_options) as target:
        check_dataset(target, collection, data, view, options.add_dataset)
        vector_name = find_stored([vector_name], target.vector_names(collection)) or vector_name
        target.ensure_vector(collection, vector_name, record)  # fails before any write
        todo = modality.to_encode(view, target, collection, vector_name)
        if todo.restamped:  # touched or copied, same content: nothing to embed again
            target.set_payloads(collection, {sample_id: {CONTENT_FIELD: stamp}
                                             for sample_id, stamp in todo.restamped.items()})
        if todo.indices:
            target.begin_bulk_load(collection)
        state = IngestProgress(total=len(view), to_encode=len(todo.indices))
        run = IngestRun(view, todo.indices, model, target, collection, vector_name, batch_size, options.strict,
                        state, progress, reading)
        interrupted = False
        index_seconds = 0.0
        if todo.indices:
            encoding = modality.encoding(model, workers=workers, ray=options.ray,
                                         built_by_name=isinstance(encoder, str))
            interrupted = write_encoded(run, encoding)
        state, failures = run.state, run.failures
        if state.stored or len(view) > len(todo.indices):
            target.add_dataset(collection, data.identity())
        pruned = prune(view, target, collection, vector_name) if options.prune_missing and not interrupted else 0
        if (state.stored or target.index_unfinished(collection)) and not interrupted:
            # an interrupted run stops at once; the re-run builds the index, also when it has nothing to store
            index_started = time.perf_counter()
            state.stage = "building the index"
            run.report()
            target.optimize(collection)
            index_seconds = time.perf_counter() - index_started
        if state.stored or pruned or todo.changed:
            target.record_counts(collection)
        target.flush()
        return IngestReport(
            collection=collection, vector_name=vector_name, dataset=data.name, split=split,
            total=len(view), already_stored=len(view) - len(todo.indices), stored=state.stored,
            changed=len(todo.changed), pruned=pruned,
            failures=failures, seconds=time.perf_counter() - started, index_seconds=index_seconds,
            interrupted=interrupted, workers=run.workers,
        )
