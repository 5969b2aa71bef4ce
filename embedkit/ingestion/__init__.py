"""Ingest: dataset -> encoder -> store, streaming, batched, resumable."""

from embedkit.ingestion.pipeline import (
    Failure,
    IngestProgress,
    IngestReport,
    default_collection_name,
    ingest,
)
from embedkit.ingestion.ray import RayIngest

__all__ = ["Failure", "IngestProgress", "IngestReport", "RayIngest", "default_collection_name", "ingest"]
