"""What `bench` does with each dataset x encoder pair, as records (ann-benchmarks' run spec in spirit): the
query-time settings (`QuerySpec`) apart from the build-time ones (`BuildSpec`), and the whole run's `RunSpec`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedkit.bench.protocols import ProtocolSpec
from embedkit.bench.tasks import RETRIEVAL
from embedkit.option_records import refuse_misplaced


@dataclass(frozen=True)
class QuerySpec(ProtocolSpec):
    """How each pair is measured, at query time: the protocol and its splits, the queries drawn (None: all of
    them, else that many, seeded), whether they also go through the store's index (`through_store`: recall@10
    and latency), the tasks scored beside retrieval (knn, linear, clustering), the re-rankings (`reranks`)
    and the quantizations (`quantizations`)."""

    queries: int | None = None
    seed: int = 0
    through_store: bool = False
    tasks: tuple[str, ...] = (RETRIEVAL,)
    reranks: tuple[str, ...] = ()
    """Re-ranking variants scored beside plain cosine (`embedkit.retrieval.rerank`: aqe, alpha-qe, k-reciprocal,
    rocchio), with their default parameters; none: only the cosine ranking."""
    quantizations: tuple[str, ...] = ()
    """Qdrant quantizations measured on the gallery in temporary stores (`embedkit.bench.quantization`: none,
    scalar, binary, product), each searched with and without rescoring and oversampling; none: not measured."""


@dataclass(frozen=True)
class BuildSpec:
    """How each pair's vectors are made, at build time (by `ingest`, only those the store lacks): images per
    batch, decoding processes (None: decided from the first batch), where named datasets are kept, and the
    options every dataset is opened with."""

    batch_size: int = 64
    workers: int | None = None
    data_dir: str | Path | None = None
    dataset_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSpec(QuerySpec):
    """What `bench` does with each pair, built once from its arguments: the same for every pair."""

    limit: int | None = None
    build: BuildSpec = field(default_factory=BuildSpec)
    encoder_options: Mapping[str, Any] = field(default_factory=dict)


def refuse_spec_options(encoder_options: Mapping[str, Any]) -> None:
    """Refuse a field of `QuerySpec` or `BuildSpec` given as a keyword of `bench`, where it would be taken for an
    encoder's option."""
    for record, keyword in ((QuerySpec, "query"), (BuildSpec, "build")):
        refuse_misplaced(encoder_options, record, keyword, owner="the benchmark", instead_of="the encoders")
