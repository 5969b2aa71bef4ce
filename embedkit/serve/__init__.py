"""The HTTP API and the web page over one store: search by image, id, text or examples from a browser or another app."""

from embedkit.serve.app import create_app
from embedkit.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]
