"""embedkit: embed images and text with pluggable encoders, store them in Qdrant, measure retrieval."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("embedkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from embedkit.datasets import get_dataset, list_datasets  # noqa: E402
from embedkit.encoders import Encoder, get_encoder, list_encoders  # noqa: E402
from embedkit.errors import EmbedkitError  # noqa: E402
from embedkit.export import export  # noqa: E402
from embedkit.images import load_image  # noqa: E402
from embedkit.ingest import ingest  # noqa: E402
from embedkit.push import push  # noqa: E402
from embedkit.search import search  # noqa: E402
from embedkit.store import open_store  # noqa: E402

__all__ = [
    "EmbedkitError",
    "Encoder",
    "__version__",
    "export",
    "get_dataset",
    "get_encoder",
    "ingest",
    "list_datasets",
    "list_encoders",
    "load_image",
    "open_store",
    "push",
    "search",
]
