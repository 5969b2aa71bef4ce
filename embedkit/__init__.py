"""embedkit: embed images and text with pluggable encoders, store them in Qdrant, measure retrieval.

The names below are imported on first use, so `import embedkit.store` does not load every stage.
"""

from __future__ import annotations

from embedkit.errors import EmbedkitError
from embedkit.lazy import lazy_exports

_PUBLIC = {
    "__version__": "embedkit._version",
    "Encoder": "embedkit.encoders",
    "get_encoder": "embedkit.encoders",
    "list_encoders": "embedkit.encoders",
    "get_dataset": "embedkit.datasets",
    "list_datasets": "embedkit.datasets",
    "load_image": "embedkit.images",
    "open_store": "embedkit.store",
    "export": "embedkit.store.export",
    "push": "embedkit.store.push",
    "ingest": "embedkit.ingestion",
    "search": "embedkit.retrieval",
}

__all__ = ["EmbedkitError", *_PUBLIC]


__getattr__ = lazy_exports(__name__, _PUBLIC)


def __dir__() -> list[str]:
    return sorted(__all__)
