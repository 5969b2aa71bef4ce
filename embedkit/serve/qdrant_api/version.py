"""The version of Qdrant's REST API this serves: that of the qdrant-client whose models validate it, so that
Qdrant's clients of that version find a server they are compatible with."""

from __future__ import annotations

from importlib.metadata import version

QDRANT_VERSION = version("qdrant-client")
