"""Ingest: dataset -> encoder -> store, streaming, batched, resumable."""

from embedkit.ingestion.options import IngestOptions
from embedkit.ingestion.pipeline import IngestReport, default_collection_name, ingest
from embedkit.ingestion.ray import RayIngest
from embedkit.ingestion.run import Failure, IngestProgress

__all__ = ["Failure", "IngestOptions", "IngestProgress", "IngestReport", "RayIngest", "default_collection_name",
           "ingest"]
