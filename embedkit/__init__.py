"""embedkit: embed images and text with pluggable encoders, store them in Qdrant, measure retrieval."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("embedkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from embedkit.encoders import Encoder, get_encoder, list_encoders  # noqa: E402
from embedkit.errors import EmbedkitError  # noqa: E402
from embedkit.images import load_image  # noqa: E402

__all__ = ["EmbedkitError", "Encoder", "__version__", "get_encoder", "list_encoders", "load_image"]
