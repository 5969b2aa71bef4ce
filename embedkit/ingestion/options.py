"""The less usual choices of an ingest, as one record: `ingest(..., options=IngestOptions(...))`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedkit.option_records import refuse_misplaced

if TYPE_CHECKING:
    from embedkit.ingestion.ray import RayIngest
    from embedkit.store import CollectionOptions


@dataclass(frozen=True)
class IngestOptions:
    """How an ingest reads, what it may change in the collection, and where it runs; the defaults are a plain
    ingest in this process."""

    strict: bool = False
    """Raise at the first unreadable sample instead of skipping it (and listing it in the report)."""
    background: str | tuple[int, int, int] | None = None
    """The colour under transparent pixels (white; a name or #RRGGBB)."""
    reduced_decoding: bool = True
    """Decode a JPEG larger than twice the encoder's input size at a 1/2, 1/4 or 1/8 scale that still covers it."""
    data_dir: str | Path | None = None
    """Where a dataset given by name is kept and downloaded to."""
    add_dataset: bool = False
    """Add this dataset to a collection that holds another one (by `Dataset.identity`)."""
    prune_missing: bool = False
    """Delete the points of samples the dataset no longer has."""
    ray: RayIngest | None = None
    """Decode and embed on a Ray cluster (`embedkit.ingestion.ray.RayIngest`, the optional `ray` extra)."""
    collection_options: CollectionOptions | None = None
    """The layout of a collection this run creates (shards, replicas, on-disk vectors, quantization)."""


def refuse_ingest_options(encoder_options: dict[str, Any]) -> None:
    """Refuse an option of `IngestOptions` given as a keyword of `ingest`, where it would be taken for an
    encoder's option (or, with an encoder object, not be used at all)."""
    refuse_misplaced(encoder_options, IngestOptions, "options", owner="the ingest", instead_of="the encoder")
