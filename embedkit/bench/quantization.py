"""Qdrant's own quantization measured on a benchmark's vectors.

Each kind (none, scalar, binary, product) gets a temporary embedded store (Qdrant Edge) holding the benchmark's
gallery with that collection quantization; its HNSW index and quantized vectors are built (`optimize`), and the
benchmark's queries search it without rescoring, rescored, and rescored after oversampling. Each search is
scored against the exact ranking (recall@10) and the labels (mAP@5, P@10), with its latency, and the bytes
each point's vectors take are read from the store's segment files: the full float32 vectors (`matrix.dat`),
the quantized ones (`quantized.data`) and the HNSW links.

Qdrant builds an index and the quantized vectors only for a segment larger than its indexing threshold (10 MB of
vectors by default); a smaller gallery is searched by brute force on the full vectors, and says so
(`quantized_built`: false).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from embedkit.bench.protocols import Task
from embedkit.bench.store_figures import evaluate_store
from embedkit.errors import InvalidOptionError
from embedkit.progress import ProgressListener, tell, within
from embedkit.records import VectorRecord
from embedkit.store import open_store
from embedkit.store.collection_options import QUANTIZATIONS, CollectionOptions, QuantizedSearch

NONE = "none"
KINDS = (NONE, *QUANTIZATIONS)
OVERSAMPLING = 3.0
SEARCHES = {
    "no rescore": QuantizedSearch(rescore=False),
    "rescore": QuantizedSearch(rescore=True, oversampling=1.0),
    f"rescore, oversampling {OVERSAMPLING:g}": QuantizedSearch(rescore=True, oversampling=OVERSAMPLING),
}
"""How a quantized collection is searched; an unquantized one is searched once, as it is."""
COLLECTION, VECTOR = "quantized", "v"
FILL_BATCH = 4096


def parse_quantizations(text: str | None) -> tuple[str, ...]:
    """`none,scalar,...` in KINDS order, `none` always in (the full vectors: the baseline)."""
    names = {name.strip().lower() for name in (text or "").split(",") if name.strip()}
    unknown = sorted(names - set(KINDS))
    if unknown:
        raise InvalidOptionError(f"unknown quantization {', '.join(unknown)}; use any of {', '.join(KINDS)} "
                                 f"(comma-separated)")
    return tuple(kind for kind in KINDS if kind in names | {NONE})


def evaluate_quantizations(task: Task, kinds: tuple[str, ...], exact_top: np.ndarray,
                           top_ids: dict[tuple[str, str], list[list[str]]] | None = None,
                           progress: ProgressListener | None = None) -> dict[str, Any]:
    """Per kind: seconds to store and index the gallery, bytes per point, and per search the store figures of
    `evaluate_store` (recall@10 against `exact_top`, P@10, mAP@5, latency). `top_ids`, when given, receives
    each (kind, search)'s store top-10 of every query. `progress` hears each kind's stages: storing the gallery,
    building its index and quantized vectors (minutes for 70,000 large vectors: no count), each search."""
    out: dict[str, Any] = {}
    for kind in kinds:
        heard = within(progress, f"quantization {kind}")
        with tempfile.TemporaryDirectory(prefix="embedkit-quantization-") as root:
            options = CollectionOptions(quantization=None if kind == NONE else kind)
            with open_store(Path(root) / "store", collection_options=options) as store:
                started = time.perf_counter()
                _fill(store, task, heard)
                seconds = time.perf_counter() - started
                sizes = stored_bytes(Path(root) / "store" / COLLECTION, len(task.gallery.ids))
                searches: dict[str, Any] = {}
                for name, search in ({"as stored": None} if kind == NONE else SEARCHES).items():
                    store.quantized_search = search  # type: ignore[attr-defined]
                    found: list[list[str]] = []
                    searches[name] = evaluate_store(store, COLLECTION, VECTOR, task, exact_top, None, found,
                                                    within(heard, name))
                    if top_ids is not None:
                        top_ids[(kind, name)] = found
        out[kind] = {"build_seconds": seconds, **sizes, "searches": searches}
    return out


def _fill(store: Any, task: Task, progress: ProgressListener | None) -> None:
    gallery = task.gallery
    store.ensure_vector(COLLECTION, VECTOR, VectorRecord(VECTOR, gallery.vectors.shape[1], "image"))
    vectors = np.asarray(gallery.vectors, dtype=np.float32)
    for start in range(0, len(gallery.ids), FILL_BATCH):
        stop = min(start + FILL_BATCH, len(gallery.ids))
        payloads = [{"label": int(label), "split": "gallery"} for label in gallery.labels[start:stop]]
        store.upsert(COLLECTION, VECTOR, list(gallery.ids[start:stop]), vectors[start:stop], payloads)
        tell(progress, "storing the gallery", stop, len(gallery.ids), "points")
    tell(progress, "building the index and the quantized vectors")
    store.optimize(COLLECTION)


def stored_bytes(collection: Path, points: int) -> dict[str, Any]:
    """Bytes per point of the full vectors, the quantized vectors and the HNSW links, from the indexed segments'
    files; `quantized_built`: whether Qdrant wrote quantized vectors (it does for indexed segments only)."""
    totals = {"vectors": 0, "quantized": 0, "hnsw": 0}
    for file in collection.glob("segments/*/vector_*/**/*"):
        if not file.is_file():
            continue
        if file.name == "matrix.dat":
            totals["vectors"] += file.stat().st_size
        elif file.name == "quantized.data":
            totals["quantized"] += file.stat().st_size
        elif file.parent.name.startswith("vector_index") and file.suffix == ".bin":
            totals["hnsw"] += file.stat().st_size
    per_point = {f"{name}_bytes_per_point": total / max(points, 1) for name, total in totals.items()}
    return {**per_point, "quantized_built": totals["quantized"] > 0, "indexed": totals["vectors"] > 0}
