"""Dataset -> encoder -> store: streaming, batched, resumable, idempotent."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from embedkit.datasets import Dataset, DatasetView, Sample, get_dataset
from embedkit.encoders import Encoder, get_encoder
from embedkit.encoders.names import find_stored, text_vector_name
from embedkit.images import ReadOptions
from embedkit.ingestion.freshness import (CONTENT_FIELD, check_dataset, content_stamp, prune, samples_to_encode,
                                          text_stamp)
from embedkit.ingestion.workers import die_with_parent
from embedkit.machine import CoreBudget
from embedkit.errors import (ImageLoadError, InvalidOptionError, PreprocessingError, TextNotSupportedError,
                             first_line)
from embedkit.store import Store, using_store

if TYPE_CHECKING:
    from embedkit.ingestion.ray import RayIngest
    from embedkit.store import CollectionOptions

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
    """`fashion-mnist` stays as it is; `folder:/data/shoes` becomes `folder-shoes`."""
    prefix, sep, rest = dataset_name.partition(":")
    if sep:
        stem = re.sub(r"\.[A-Za-z0-9]+$", "", rest.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1])
        dataset_name = f"{prefix}-{stem}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset_name).strip("-.") or "embedkit"


def sample_payload(view: DatasetView, sample: Sample) -> dict[str, Any]:
    """What a point's payload holds (docs/store.md), with its sample id, which the store keeps apart."""
    return {**dict(sample.payload), "sample_id": sample.id, "dataset": view.dataset_name, "split": sample.split,
            "label": sample.label, "label_name": sample.label_name, "source": sample.source,
            CONTENT_FIELD: content_stamp(sample.source)}


@dataclass
class IngestRun:
    """What the encoding loops share: the samples to do, where their vectors go, and how it is going."""

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


class EncoderInputs(torch.utils.data.Dataset):
    """The samples to encode; decoded and preprocessed in DataLoader workers."""

    def __init__(self, view: DatasetView, indices: Sequence[int], preprocess: Callable[[Any], torch.Tensor],
                 reading: ReadOptions):
        self.view = view
        self.indices = list(indices)
        self.preprocess = preprocess
        self.reading = reading

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[dict[str, Any], torch.Tensor | None, str | None]:
        sample = self.view[self.indices[position]]
        record = sample_payload(self.view, sample)
        try:
            image = sample.image(self.reading)
        except ImageLoadError as error:
            return record, None, str(error)
        except Exception as error:  # a decoding bug on one file must not end a long ingest
            return record, None, f"{type(error).__name__}: {error}"
        try:
            return record, self.preprocess(image), None
        except Exception as error:  # options every image would meet are refused before (check_preprocessing)
            return record, None, f"the encoder's preprocessing failed ({type(error).__name__}: {first_line(error)})"


def check_preprocessing(preprocess: Callable[[Any], torch.Tensor]) -> None:
    """Refuse, before any work, encoder options that no image gets through (a huge --image-size): a failure
    on one odd image only skips that image."""
    try:
        preprocess(Image.new("RGB", (64, 48), (128, 128, 128)))
    except Exception as error:
        raise PreprocessingError(f"the encoder's preprocessing fails on any image ({type(error).__name__}: "
                                 f"{first_line(error)}); check the encoder's options (--image-size)") from error


def collate(
    items: list[tuple[dict[str, Any], torch.Tensor | None, str | None]],
) -> tuple[list[dict[str, Any]], torch.Tensor | None, list[Failure]]:
    good = [(record, tensor) for record, tensor, error in items if error is None]
    bad = [Failure(record["sample_id"], record["source"], error) for record, _, error in items if error is not None]
    pixels = torch.stack([tensor for _, tensor in good]) if good else None
    return [record for record, _ in good], pixels, bad


def ingest(
    dataset: str | Dataset,
    encoder: str | Encoder,
    *,
    split: str | None = None,
    limit: int | None = None,
    batch_size: int = 64,
    workers: int | None = None,
    collection: str | None = None,
    store: Store | str | None = None,
    strict: bool = False,
    data_dir: str | None = None,
    progress: ProgressCallback | None = None,
    text_field: str | None = None,
    background: str | tuple[int, int, int] | None = None,
    reduced_decoding: bool = True,
    add_dataset: bool = False,
    prune_missing: bool = False,
    ray: RayIngest | None = None,
    collection_options: CollectionOptions | None = None,
    **encoder_options: Any,
) -> IngestReport:
    """Embed the samples of `dataset` that the collection lacks and store them under the encoder's vector.

    Re-running after an interruption encodes only what is missing. `store` is an open Store, a
    location for `open_store` (a path or an http(s) URL), or None for the default embedded store.
    Unreadable images are skipped and listed in the report; with `strict=True` the first one raises.
    `workers` decoding processes (None: decided from the first batch, see `_encode_images`).
    With `text_field`, the text of that payload field (a manifest column such as `caption`) is embedded
    instead of the image, by an encoder that embeds text, under `names.text_vector_name`. `background` is
    the colour under transparent pixels (white; a name or #RRGGBB). With `reduced_decoding`, a JPEG larger
    than twice the encoder's input size is decoded at a 1/2, 1/4 or 1/8 scale that still covers it.

    A sample whose file changed since it was embedded is embedded again (its other vectors, stale too, are
    removed). A collection holds one dataset (by `Dataset.identity`: a folder's absolute path) unless
    `add_dataset`; `prune_missing` deletes the points of samples the dataset no longer has.

    With `ray` (`embedkit.ingestion.ray.RayIngest`), the images are decoded and embedded on a Ray cluster and
    written here (the optional `ray` extra); what is chosen, recorded and indexed stays as it is.
    `collection_options` lay out a collection this run creates (shards, replicas, on-disk vectors, quantization).
    While points stream in, a server builds no index (a bulk load); the index is built once at the end.
    """
    started = time.perf_counter()
    if ray is not None:
        from embedkit.ingestion.ray import prepare_ray

        prepare_ray(ray)  # a missing extra or an unreachable cluster is refused before any work
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
    if text_field is None:
        check_preprocessing(model.preprocess)
    collection = collection or default_collection_name(data.name)
    reading = ReadOptions.from_environment(background, model.input_size if reduced_decoding else None)
    record = model.record.replace(reading=reading.reading())
    vector_name = model.vector_name
    if text_field is not None:
        vector_name = text_vector_name(model.vector_name, text_field, model.embeds_images)
        record = record.replace(text_field=text_field, modality="text", reading=None)
    if prune_missing and limit is not None:
        raise InvalidOptionError("--prune compares the whole dataset with the collection; leave out --limit")
    with using_store(store, collection_options=collection_options) as target:
        check_dataset(target, collection, data, view, add_dataset)
        vector_name = find_stored([vector_name], target.vector_names(collection)) or vector_name
        target.ensure_vector(collection, vector_name, record)  # fails before any write
        if text_field is None:
            todo = samples_to_encode(view, target, collection, vector_name)
        else:  # an edited text makes only its own vector stale: it is overwritten, the point kept
            todo = samples_to_encode(view, target, collection, vector_name, f"{CONTENT_FIELD}@{text_field}",
                                     text_stamp(text_field))
        if todo.changed and text_field is None:
            log.info("%d file(s) changed since they were embedded: embedding them again", len(todo.changed))
            target.delete(collection, todo.changed)
        if todo.restamped:  # touched or copied, same content: nothing to embed again
            target.set_payloads(collection, {sample_id: {CONTENT_FIELD: stamp}
                                             for sample_id, stamp in todo.restamped.items()})
        if todo.indices:
            target.begin_bulk_load(collection)
        state = IngestProgress(total=len(view), to_encode=len(todo.indices))
        run = IngestRun(view, todo.indices, model, target, collection, vector_name, batch_size, strict, state,
                        progress, reading)
        interrupted = False
        index_seconds = 0.0
        if todo.indices and text_field is not None:
            interrupted = _encode_texts(run, text_field)
        elif todo.indices and ray is not None:
            from embedkit.ingestion.ray import encode_on_ray, encoder_maker

            interrupted = encode_on_ray(run, ray, encoder_maker(model, built_by_name=isinstance(encoder, str)))
        elif todo.indices:
            interrupted = _encode_images(run, workers)
        state, failures = run.state, run.failures
        if state.stored or len(view) > len(todo.indices):
            target.add_dataset(collection, data.identity())
        pruned = prune(view, target, collection, vector_name) if prune_missing and not interrupted else 0
        if (state.stored or target.index_unfinished(collection)) and not interrupted:
            # an interrupted run stops at once; the re-run builds the index, also when it has nothing to store
            index_started = time.perf_counter()
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


def _encode_images(run: IngestRun, workers: int | None) -> bool:
    """Encode batch k while batch k-1 is written. Returns True when interrupted by Ctrl-C.

    With `workers` None the first batch is decoded here and timed against its forward pass: when decoding
    costs little next to the encoder (small images in an array file), the rest is decoded here too, since
    worker processes would take CPU time from the forward pass; otherwise the cores are split between decoding
    processes and the forward pass's threads (`embedkit.machine.split_cores`)."""
    inputs = EncoderInputs(run.view, run.todo, run.model.preprocess, run.reading)
    pending: Future[None] | None = None
    pending_count = 0

    def finish_pending() -> None:
        nonlocal pending, pending_count
        if pending is not None:
            pending.result()
            run.state.stored += pending_count
            pending, pending_count = None, 0

    def encode(records: list[dict[str, Any]], pixels: torch.Tensor | None, bad: list[Failure]) -> float:
        """Embed a batch and hand it to the writer; the seconds its forward pass took."""
        nonlocal pending, pending_count
        run.skip(bad)
        started = time.perf_counter()
        if pixels is not None:
            vectors = run.model.embed_pixels(pixels)
            forward = time.perf_counter() - started
            finish_pending()
            ids = [record.pop("sample_id") for record in records]
            pending = writer.submit(run.store.upsert, run.collection, run.vector_name, ids, vectors, records)
            pending_count = len(ids)
            run.state.encoded += len(ids)
        run.report()
        return time.perf_counter() - started if pixels is None else forward

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedkit-writer") as writer, CoreBudget() as cores:
        try:
            rest: torch.utils.data.Dataset = inputs
            if workers is None:
                first = min(run.batch_size, len(inputs))
                started = time.perf_counter()
                batch = collate([inputs[i] for i in range(first)])
                decoding = time.perf_counter() - started
                forward = encode(*batch)
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
                encode(*batch)
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


def _encode_texts(run: IngestRun, text_field: str) -> bool:
    """Embed the text of `text_field` of each sample; a sample without text is a failure, like an unreadable image."""
    try:
        for start in range(0, len(run.todo), run.batch_size):
            records, texts = [], []
            for index in run.todo[start : start + run.batch_size]:
                sample = run.view[index]
                text = sample.payload.get(text_field)
                if not isinstance(text, str) or not text.strip():
                    run.skip([Failure(sample.id, sample.source, f"sample {sample.id!r} has no text in {text_field!r}")])
                    continue
                texts.append(text)
                payload = {key: value for key, value in sample_payload(run.view, sample).items() if key != CONTENT_FIELD}
                records.append({**payload, f"{CONTENT_FIELD}@{text_field}": text_stamp(text_field)(sample)})
            if texts:
                vectors = run.model.encode_texts(texts, batch_size=run.batch_size)
                ids = [record.pop("sample_id") for record in records]
                run.store.upsert(run.collection, run.vector_name, ids, vectors, records)
                run.state.encoded += len(ids)
                run.state.stored += len(ids)
            run.report()
    except KeyboardInterrupt:
        log.warning("interrupted: stopping after the last stored batch")
        return True
    return False
