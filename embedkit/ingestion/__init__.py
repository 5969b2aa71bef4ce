"""Ingest: dataset -> encoder -> store, streaming, batched, resumable."""

from embedkit.ingestion.pipeline import (
    Failure,
    IngestProgress,
    IngestReport,
    default_collection_name,
    ingest,
    text_vector_name,
)

__all__ = ["Failure", "IngestProgress", "IngestReport", "default_collection_name", "ingest", "text_vector_name"]
