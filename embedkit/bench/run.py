"""`bench`: mAP@5, P@10, AP and friends for every encoder x dataset pair, with provenance."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import platform
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from embedkit.bench import metrics
from embedkit.bench.protocols import LEAVE_ONE_OUT, Task, make_task
from embedkit.bench.spec import BuildSpec, QuerySpec, RunSpec, refuse_spec_options
from embedkit.bench.tasks import CLASSIFIERS, CLUSTERING, classification, clustering, parse_tasks
from embedkit.bench.ranking import exact_ranking
from embedkit.bench.quantization import evaluate_quantizations, parse_quantizations
from embedkit.bench.reranking import evaluate_reranks
from embedkit.bench.store_figures import evaluate_store, label_counts
from embedkit.datasets import get_dataset
from embedkit.encoders import get_encoder
from embedkit._version import __version__
from embedkit.errors import EmbedkitError, InvalidOptionError, StoreBackendError
from embedkit.ingestion import IngestProgress, default_collection_name, ingest
from embedkit.progress import ProgressListener, tell, within
from embedkit.retrieval.rerank import parse_reranks
from embedkit.store import Store, using_store
from embedkit.store.urls import redacted

log = logging.getLogger(__name__)

K = 10

BenchProgress = Callable[[str, str, str | None, IngestProgress], None]
"""Called during the encoding of each pair with the dataset, the vector name, the split (None: all splits)
and the ingest's progress."""


@dataclass
class BenchResult:
    dataset: str
    encoder: str
    """The vector name: encoder name, weights tag and variant."""
    dim: int
    protocol: str
    query_split: str | None
    gallery_split: str | None
    queries: int
    gallery: int
    metrics: dict[str, float]
    random_expected: dict[str, float]
    random_measured: dict[str, float]
    pr_curve: dict[str, list[float]]
    """Interpolated precision at 11 recall levels, averaged over the queries."""
    store: dict[str, Any] | None
    images_per_second: float | None
    provenance: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The scores of the tasks asked for beside retrieval (knn, linear, clustering), or each one's error."""
    reranks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per re-ranking asked for (and `none`, plain cosine timed the same way): its parameters, metrics, gain over
    plain cosine and milliseconds per query (`embedkit.bench.reranking`)."""
    quantization: dict[str, Any] = field(default_factory=dict)
    """Per Qdrant quantization asked for: bytes per point, and per search (rescored or not) recall@10 against
    exact, P@10, mAP@5 and latency (`embedkit.bench.quantization`)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BenchFailure:
    dataset: str
    encoder: str
    error: str


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=Path(__file__).parent,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def random_ranks(task: Task, seed: int) -> list[np.ndarray]:
    """The relevant ranks a uniformly random ranking gives: R distinct positions out of N."""
    rng = np.random.default_rng(seed)
    gallery_counts = label_counts(task)
    n = len(task.gallery.ids) - (1 if task.query_positions is not None else 0)
    out = []
    for label in task.queries.labels:
        r = int(gallery_counts[label]) - (1 if task.query_positions is not None else 0)
        out.append(np.sort(rng.choice(n, size=r, replace=False)) + 1 if r > 0 else np.zeros(0, dtype=np.int64))
    return out


def evaluate(task: Task, seed: int, progress: ProgressListener | None = None) -> tuple[
        dict[str, float], dict[str, float], dict[str, float], dict[str, list[float]], np.ndarray, int]:
    """Exact metrics, the random baseline (expected and measured), the PR curve, the exact top-k, and the
    number of queries skipped because no gallery item shares their label. `progress` hears the queries ranked."""
    ranking = exact_ranking(task.queries.vectors, task.queries.labels, task.gallery.vectors, task.gallery.labels,
                            task.query_positions, k=K, progress=progress)
    scored = [metrics.query_metrics(r) for r in ranking.ranks if len(r)]
    exact = metrics.mean_metrics(scored)  # refuses when no query has a relevant item
    n = len(task.gallery.ids) - (1 if task.query_positions is not None else 0)
    expected = [metrics.expected_random(len(r), n) for r in ranking.ranks if len(r)]
    measured = [metrics.query_metrics(r) for r in random_ranks(task, seed) if len(r)]
    curve = np.mean([metrics.interpolated_precision(r) for r in ranking.ranks if len(r)], axis=0)
    pr_curve = {"recall": metrics.RECALL_LEVELS.tolist(), "precision": curve.tolist()}
    return (exact, metrics.mean_metrics(expected), metrics.mean_metrics(measured),
            pr_curve, ranking.top, len(ranking.ranks) - len(scored))


def result_filename(result: BenchResult) -> str:
    splits = result.gallery_split if result.protocol == LEAVE_ONE_OUT else f"{result.query_split}-vs-{result.gallery_split}"
    raw = f"{result.dataset}__{result.encoder}__{result.protocol}__{splits or 'all'}"
    return re.sub(r"[^A-Za-z0-9_.+-]+", "-", raw) + ".json"


def bench(
    datasets: Sequence[str],
    encoders: Sequence[str],
    *,
    split: str | None = None,
    limit: int | None = None,
    store: Store | str | None = None,
    out_dir: str | Path | None = "bench-results",
    progress: BenchProgress | None = None,
    measuring: ProgressListener | None = None,
    query: QuerySpec | None = None,
    build: BuildSpec | None = None,
    **encoder_options: Any,
) -> tuple[list[BenchResult], list[BenchFailure]]:
    """Evaluate every encoder on every dataset, ingesting only what the store lacks.

    Leave-one-out ranks every query against the rest of `split`; `query` (`QuerySpec`, query time) holds the
    protocol (the split protocol ranks `query_split` against `gallery_split`), the number of queries, the seed,
    `through_store` and the tasks scored beside retrieval (`embedkit.bench.tasks`: kNN, linear probe,
    clustering; retrieval is always computed). `build` (`BuildSpec`, build time) says how the vectors are made:
    batch size, decoding workers, data folder, dataset options. `limit` keeps the first N samples of each split
    (None: all of them). Writes one JSON per pair to `out_dir` (None: none). `progress` hears how the encoding
    goes, `measuring` each stage after it ("measuring VECTOR, DATASET: exact ranking", each task, re-ranking and
    quantization, the store's searches). A pair that cannot run (weights missing, no labels, ...) is reported as a
    failure; the others go on.
    """
    from embedkit.bench.report import load_results, write_summaries

    refuse_spec_options(encoder_options)
    spec = run_spec(split, limit, query or QuerySpec(), build or BuildSpec(), encoder_options)
    out = None if out_dir is None else Path(out_dir)
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InvalidOptionError(f"cannot write results to {str(out)!r} ({error.strerror}); pass another --out") from error
    commit = git_commit()
    results: list[BenchResult] = []
    failures: list[BenchFailure] = []
    with using_store(store) as target:
        for dataset_name in datasets:
            for encoder_name in encoders:
                try:
                    result = _bench_pair(dataset_name, encoder_name, target, spec, progress, measuring)
                except StoreBackendError:
                    raise  # the store failing stops the bench: every pair after it would fail too
                except EmbedkitError as error:
                    log.info("%s x %s: %s", dataset_name, encoder_name, error)
                    failures.append(BenchFailure(dataset_name, encoder_name, str(error)))
                    continue
                result.provenance["git_commit"] = commit
                results.append(result)
                if out is not None:  # each pair as soon as it is done: a later failure loses nothing
                    (out / result_filename(result)).write_text(json.dumps(result.to_json(), indent=2))
                    write_summaries(load_results([out]), out)  # every pair of the folder, not only this run's
    return results, failures


def run_spec(split: str | None, limit: int | None, query: QuerySpec, build: BuildSpec,
             encoder_options: Mapping[str, Any]) -> RunSpec:
    """The run's one spec: `split` is the query spec's, given either way; the tasks checked and in their order."""
    if split is not None and query.split not in (None, split):
        raise InvalidOptionError(f"split {split!r} and the query spec's split {query.split!r} differ; give one of them")
    query = dataclasses.replace(query, split=split if split is not None else query.split,
                                tasks=parse_tasks(",".join(query.tasks)),
                                reranks=parse_reranks(",".join(query.reranks)) if query.reranks else (),
                                quantizations=parse_quantizations(",".join(query.quantizations))
                                if query.quantizations else ())
    fields = {spec_field.name: getattr(query, spec_field.name) for spec_field in dataclasses.fields(query)}
    build = dataclasses.replace(build, dataset_options=MappingProxyType(dict(build.dataset_options)))
    return RunSpec(**fields, limit=limit, build=build, encoder_options=MappingProxyType(dict(encoder_options)))


def _bench_pair(dataset_name: str, encoder_name: str, store: Store, spec: RunSpec,
                progress: BenchProgress | None, measuring: ProgressListener | None) -> BenchResult:
    started = time.perf_counter()
    dataset = get_dataset(dataset_name, data_dir=spec.build.data_dir, **spec.build.dataset_options)
    encoder = get_encoder(encoder_name, **spec.encoder_options)
    collection = default_collection_name(dataset.name)
    views = [dataset.view(s, spec.limit) for s in spec.splits]
    encoded = seconds = 0.0
    for view_split in spec.splits:
        def heard(state: IngestProgress, view_split: str | None = view_split) -> None:
            if progress is not None:
                progress(dataset.name, encoder.vector_name, view_split, state)

        report = ingest(dataset, encoder, split=view_split, limit=spec.limit, store=store, collection=collection,
                        batch_size=spec.build.batch_size, workers=spec.build.workers, progress=heard)
        if report.interrupted:  # Ctrl-C inside ingest: the pair is not measured, nothing of it is written
            raise KeyboardInterrupt
        encoded += report.stored
        seconds += report.seconds
    ids = {view[i].id for view in views for i in range(len(view))}
    task = make_task(store, collection, encoder.vector_name, spec.protocol, split=spec.split,
                     query_split=spec.query_split, gallery_split=spec.gallery_split, queries=spec.queries,
                     seed=spec.seed, k=K, only=ids)
    heard = within(measuring, f"measuring {encoder.vector_name}, {dataset.name}")
    exact, expected, measured, pr_curve, top, skipped = evaluate(task, spec.seed, heard)
    task_scores = score_tasks(spec, task, heard)
    reranks = evaluate_reranks(task, spec.reranks, exact, progress=heard) if spec.reranks else {}
    quantization = evaluate_quantizations(task, spec.quantizations, top, progress=heard) if spec.quantizations else {}
    store_figures = None
    if spec.through_store and task.gallery.stored_in_split != len(task.gallery.ids):
        raise InvalidOptionError(
            f"--through-store searches every stored point of the gallery split: collection {collection!r} holds "
            f"{task.gallery.stored_in_split} of them for {encoder.vector_name}, but the benchmark's gallery has "
            f"{len(task.gallery.ids)} (--limit); benchmark all of them (no --limit; `embedkit bench --full`) or use a "
            f"store that holds just these samples (another --qdrant folder)"
        )
    if spec.through_store:
        store_figures = evaluate_store(store, collection, encoder.vector_name, task, top, spec.gallery_from,
                                       progress=heard)
    provenance = {
        "embedkit_version": __version__,
        "encoder": encoder.record.to_json(),
        "dataset": {"name": dataset.name, "splits": spec.splits, "limit": spec.limit, "count": len(ids),
                    "available": [len(dataset.view(s)) for s in spec.splits],
                    "content_hash": [view.content_hash() for view in views]},
        "protocol": spec.protocol, "seed": spec.seed, "queries_requested": spec.queries,
        "queries_skipped_no_relevant": skipped,
        "device": str(encoder.device), "precision": encoder.precision, "torch": torch.__version__,
        "precision_choice": encoder.precision_choice and encoder.precision_choice.to_json(),
        "python": platform.python_version(), "machine": platform.machine(), "git_commit": None,
        "store": redacted(store.location), "collection": collection,
        "encoded_this_run": int(encoded), "wall_seconds": time.perf_counter() - started,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return BenchResult(
        dataset=dataset.name, encoder=encoder.vector_name, dim=encoder.dim, protocol=spec.protocol,
        query_split=spec.queries_from, gallery_split=spec.gallery_from,
        queries=len(task.queries.ids), gallery=len(task.gallery.ids), metrics=exact, random_expected=expected,
        random_measured=measured, pr_curve=pr_curve, store=store_figures,
        images_per_second=encoded / seconds if encoded and seconds else None, provenance=provenance,
        tasks=task_scores, reranks=reranks, quantization=quantization,
    )


def score_tasks(spec: RunSpec, task: Task, progress: ProgressListener | None = None) -> dict[str, dict[str, Any]]:
    """The tasks of `spec` beyond retrieval, on the benchmark's own vectors; a task that cannot run on them (a
    class with one sample) records its error and leaves the others, and retrieval, standing. `progress` hears
    which task runs."""
    scores: dict[str, dict[str, Any]] = {}
    for name in spec.tasks:
        if name in CLASSIFIERS or name == CLUSTERING:
            tell(progress, f"task {name}")
        try:
            if name in CLASSIFIERS:
                queries = None if spec.protocol == LEAVE_ONE_OUT else task.queries
                scores[name] = classification(CLASSIFIERS[name], task.gallery, queries, spec.seed)
            elif name == CLUSTERING:
                scores[name] = clustering(task.gallery, spec.seed)
        except EmbedkitError as error:
            scores[name] = {"error": str(error)}
    return scores
