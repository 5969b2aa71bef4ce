"""Ingest: dataset -> encoder -> store, streaming, batched, resumable."""

from embedkit.ingestion.pipeline import (
    Failure,
    IngestProgress,
    IngestReport,
    default_collection_name,
    ingest,
)

__all__ = ["Failure", "IngestProgress", "IngestReport", "default_collection_name", "ingest"]
