"""Ingest on Ray Data: images decoded and preprocessed in CPU tasks, embedded in an actor pool (a GPU per actor
where there are GPUs), and written by this process's one writer (`writer.py`; the optional `ray` extra).

The samples to encode are chosen before Ray starts (`freshness.samples_to_encode`), exactly as for an ingest in
one process; point ids come from sample ids, so a batch written twice (a retried upload) is the same points."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from embedkit.errors import ClusterUnavailableError, InvalidOptionError
from embedkit.ingestion.encoding import EncodedBatch
from embedkit.ingestion.inputs import EncoderInputs
from embedkit.ingestion.ray_shards import DecodeRows, read_shards, shard_files
from embedkit.ingestion.run import Failure, IngestRun
from embedkit.ingestion.writer import uploads_into
from embedkit.machine import cores_available

if TYPE_CHECKING:
    from embedkit.encoders import Encoder

log = logging.getLogger(__name__)

EXTRA = 'pip install "embedkit[ray]"'
CONNECT_TIMEOUT_S = 5.0
DECODE_CPUS = 0.5
"""Logical CPUs a decoding task asks for; the embedding actors share what is left (on CPUs)."""


@dataclass(frozen=True)
class RayIngest:
    """How an ingest runs on Ray. `address`: a running cluster ("auto", "ray://HOST:10001") or None for a
    local one on this machine (or the one this process already joined)."""

    address: str | None = None
    actors: int = 1
    """Embedding actors, each holding the encoder (one GPU each where the cluster has GPUs)."""
    batch_size: int | None = None
    """Images per batch given to an actor (None: ingest's batch size)."""
    gpus_per_actor: float | None = None
    """None: 1 where the cluster has GPUs, else 0."""
    uploads: int | None = None
    """Batches written at the same time: 1 into an embedded store (one writer), 4 into a Qdrant server."""

    def __post_init__(self) -> None:
        if not 1 <= self.actors <= 10_000:
            raise InvalidOptionError(f"Ray actors must be between 1 and 10000, got {self.actors}")
        if self.batch_size is not None and not 1 <= self.batch_size <= 100_000:
            raise InvalidOptionError(f"the Ray batch size must be between 1 and 100000, got {self.batch_size}")
        if self.gpus_per_actor is not None and not 0 <= self.gpus_per_actor <= 64:
            raise InvalidOptionError(f"GPUs per actor must be between 0 and 64, got {self.gpus_per_actor}")
        if self.uploads is not None and not 1 <= self.uploads <= 64:
            raise InvalidOptionError(f"parallel uploads must be between 1 and 64, got {self.uploads}")


def prepare_ray(options: RayIngest) -> None:
    """Everything that can refuse a Ray ingest before a dataset is read or a store written: the extra installed,
    the address well formed, and something answering at it (Ray itself retries an unreachable head for minutes)."""
    import_ray()
    address = options.address
    if address is None or address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidOptionError(f"Ray address {address!r} is not auto, HOST:PORT (the head's GCS, e.g. :6379) or "
                                 f"ray://HOST:PORT (Ray Client, e.g. :10001)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise ClusterUnavailableError(f"nothing answers at the Ray address {address} ({error.strerror or error}); "
                                      f"start the cluster (ray start --head) or leave out the address to run on "
                                      f"this machine") from error


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is in the extra, not in a bare `pip install ray`)
    except ImportError as error:
        raise InvalidOptionError(f"ingest on Ray needs the ray extra: {EXTRA}") from error
    return ray


class RayCluster:
    """Joins the cluster at `address`, or the one this process already joined, or starts a local one (stopped
    again on leaving)."""

    def __init__(self, address: str | None):
        self.address = address
        self.started = False

    def __enter__(self) -> Any:
        ray = import_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING, configure_logging=False)
            except ConnectionError as error:
                raise ClusterUnavailableError(f"cannot join the Ray cluster at {self.address} ({error}); start it "
                                            f"(ray start --head) or leave out the address to run on this machine")\
                    from error
            self.started = True
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # embedkit reports progress itself
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        return ray

    def __exit__(self, *exc: object) -> None:
        if self.started:
            import ray

            ray.shutdown()


class DecodeBatch:
    """A Ray Data task: read and preprocess the samples at some positions of the run's list; a sample that cannot
    be read comes back with its reason instead of pixels (the shapes of a batch stay equal). A task, not an actor:
    an actor would hold its CPU share for the whole run, and the read tasks before it could starve."""

    def __init__(self, view: Any, todo: list[int], preprocess: Callable[[Any], Any], reading: Any):
        self.view, self.todo, self.preprocess, self.reading = view, todo, preprocess, reading

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs = EncoderInputs(self.view, self.todo, self.preprocess, self.reading)
        items = [inputs[int(position)] for position in batch["data"]]
        shape = next((tuple(tensor.shape) for _, tensor, _ in items if tensor is not None), (1,))
        pixels = np.zeros((len(items), *shape), dtype=np.float32)
        for row, (_, tensor, _) in enumerate(items):
            if tensor is not None:
                pixels[row] = tensor.numpy()
        return {"record": np.array([json.dumps(record) for record, _, _ in items], dtype=object),
                "error": np.array([error or "" for _, _, error in items], dtype=object), "pixels": pixels}


class EmbedBatch:
    """A Ray Data actor: holds the encoder (made once per actor, on its GPU if it has one) and embeds batches."""

    def __init__(self, make_encoder: Callable[[], Encoder], threads: int):
        import torch

        torch.set_num_threads(threads)  # Ray gives an actor one thread; on a CPU the actors share the cores
        self.encoder = make_encoder()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        import torch

        good = np.flatnonzero(batch["error"] == "")
        vectors = np.zeros((len(batch["error"]), self.encoder.dim), dtype=np.float32)
        if len(good):
            vectors[good] = self.encoder.embed_pixels(torch.from_numpy(np.ascontiguousarray(batch["pixels"][good])))
        return {"record": batch["record"], "error": batch["error"], "vector": vectors}


def encoder_maker(model: Encoder, built_by_name: bool) -> Callable[[], Encoder]:
    """What each actor calls to have the encoder: built again from its record on the actor's own device when
    ingest built it by name (any registered encoder, plugins included, where they are installed), or the object
    itself, sent as it is, when it was given (an encoder made in code may be registered nowhere)."""
    if built_by_name:
        record = model.record
        return lambda: _rebuild(record)
    return lambda: model


def _rebuild(record: Any) -> Encoder:
    from embedkit.encoders.rebuild import encoder_from_record

    return encoder_from_record(record, device="auto", precision=record.precision)  # the precision recorded


@dataclass(frozen=True)
class RayEncoding:
    """The images of a run, decoded in Ray Data tasks and embedded in an actor pool; each batch comes back here,
    to the run's one writer, as it is embedded."""

    options: RayIngest
    make_encoder: Callable[[], Encoder]
    """What each actor calls to have the encoder (`encoder_maker`)."""

    @property
    def uploads(self) -> int | None:
        return self.options.uploads

    def batches(self, run: IngestRun) -> Iterator[EncodedBatch]:
        options = self.options
        with RayCluster(options.address) as ray:
            gpus = options.gpus_per_actor
            if gpus is None:
                gpus = 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
            batch_size = options.batch_size or run.batch_size
            preprocess = getattr(run.model, "transform", None) or run.model.preprocess
            cpus = float(ray.cluster_resources().get("CPU", 1))
            # CPU-only: the actors take what the decoding leaves; logical shares, so that both always fit
            actor_cpus = 0.0 if gpus else min(1.0, max(0.1, (cpus - DECODE_CPUS) / options.actors))
            threads = max(1, cores_available() // options.actors)
            shards = shard_files(run.view, run.todo)
            if shards is not None:  # Ray Data's own reader, a shard per read task, wherever there is room
                rows = read_shards(ray, shards, DECODE_CPUS)
                decode: Any = DecodeRows(run.view, run.todo, shards, preprocess, run.reading)
            else:
                # the positions are handed over as blocks, not read by tasks: a read task would want a whole CPU,
                # which the actors may be holding
                blocks = max(1, min(len(run.todo) // batch_size, 200))
                rows = ray.data.from_numpy(np.array_split(np.arange(len(run.todo)), blocks))
                decode = DecodeBatch(run.view, run.todo, preprocess, run.reading)
            # Ray Data's defaults redo the batch of a task or actor that died (a lost node, an out-of-memory kill)
            decoded = rows.map_batches(decode, batch_size=batch_size, num_cpus=DECODE_CPUS)
            embedded = decoded.map_batches(
                EmbedBatch, fn_constructor_args=(self.make_encoder, threads), batch_size=batch_size,
                compute=ray.data.ActorPoolStrategy(size=options.actors), num_gpus=gpus, num_cpus=actor_cpus)
            run.workers = options.actors
            log.info("on Ray: %s, %d embedding actor(s) (%s GPU each), batches of %d, %d upload(s) at a time",
                     f"{len(shards.files)} {shards.reader} shard(s) read by Ray Data" if shards else "by position",
                     options.actors, gpus, batch_size, uploads_into(run.store, self.uploads))
            for batch in embedded.iter_batches(batch_size=batch_size, batch_format="numpy", prefetch_batches=2):
                yield _encoded(batch)


def _encoded(batch: dict[str, np.ndarray]) -> EncodedBatch:
    records = [json.loads(text) for text in batch["record"]]
    good = [row for row, error in enumerate(batch["error"]) if not error]
    failures = [Failure(records[row]["sample_id"], records[row]["source"], str(error))
                for row, error in enumerate(batch["error"]) if error]
    return EncodedBatch.of([records[row] for row in good], batch["vector"][good], failures)
