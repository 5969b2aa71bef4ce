"""How a new collection is laid out: shards and replicas on a Qdrant server, vectors on disk, quantization.

Given when a collection is created (`open_store(..., collection_options=...)`); an existing collection keeps
the layout it was created with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from embedkit.errors import InvalidOptionError

MAX_SHARDS = 1000
MAX_REPLICATION_FACTOR = 100
QUANTIZATIONS = ("scalar", "binary", "product")
"""scalar: each float becomes an int8 (4 x smaller); binary: each float becomes one bit (32 x smaller); product:
groups of floats become one byte of a learnt codebook (16 x smaller)."""


@dataclass(frozen=True)
class QuantizedSearch:
    """How a quantized collection is searched (Qdrant's QuantizationSearchParams): `rescore` the best candidates
    with the full vectors (None: Qdrant's default, on), after drawing `oversampling` x k of them (None: 1)."""

    rescore: bool | None = None
    oversampling: float | None = None

    def __post_init__(self) -> None:
        if self.oversampling is not None and not 1.0 <= self.oversampling <= 100.0:
            raise InvalidOptionError(f"oversampling must be from 1 to 100, got {self.oversampling!r}")


@dataclass(frozen=True)
class CollectionOptions:
    """The layout of a collection embedkit creates; None and False leave Qdrant's defaults.

    Quantized vectors are kept in RAM and searched first; the full vectors rescore the best candidates.
    """

    shards: int | None = None
    replication_factor: int | None = None
    on_disk: bool = False
    quantization: str | None = None

    def __post_init__(self) -> None:
        _check_count("shards", self.shards, MAX_SHARDS)
        _check_count("replication_factor", self.replication_factor, MAX_REPLICATION_FACTOR)
        if not isinstance(self.on_disk, bool):
            raise InvalidOptionError(f"on_disk must be True or False, got {self.on_disk!r}")
        if self.quantization is not None and self.quantization not in QUANTIZATIONS:
            raise InvalidOptionError(f"unknown quantization {self.quantization!r}; use one of "
                                     f"{', '.join(QUANTIZATIONS)}, or none")

    @property
    def distributed(self) -> bool:
        """Whether shards or replicas are asked for: options only a Qdrant server can honour."""
        return self.shards is not None or self.replication_factor is not None

    def client_arguments(self, dims: dict[str, int]) -> dict[str, Any]:
        """The keyword arguments of qdrant-client's `create_collection` for cosine vectors of these dims by name.

        The flags `on_disk` and `always_ram` are the ones every Qdrant server reads (newer ones also read
        `memory`, which older ones refuse)."""
        from qdrant_client import models

        on_disk = True if self.on_disk else None
        quantization: Any = None
        if self.quantization == "scalar":
            quantization = models.ScalarQuantization(
                scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True))
        elif self.quantization == "binary":
            quantization = models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True))
        elif self.quantization == "product":
            quantization = models.ProductQuantization(
                product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X16, always_ram=True))
        return {
            "vectors_config": {name: models.VectorParams(size=dim, distance=models.Distance.COSINE, on_disk=on_disk)
                               for name, dim in dims.items()},
            "shard_number": self.shards,
            "replication_factor": self.replication_factor,
            "quantization_config": quantization,
        }


def _check_count(name: str, value: Any, largest: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= largest:
        raise InvalidOptionError(f"{name} must be a whole number from 1 to {largest}, got {value!r}")
