"""Qdrant's REST API over the collections a server serves, so that Qdrant's own clients read them (and, where
allowed, write them): `create_qdrant_app`."""

from embedkit.serve.qdrant_api.application import create_qdrant_app, mount_qdrant_api

__all__ = ["create_qdrant_app", "mount_qdrant_api"]
