"""The embedded backend: Qdrant Edge shards in a folder (store.py), with what only it needs: the folder's lock
(lock.py), reading a store it may not write from copies (readonly.py), and stopping before the disk is full
(space.py)."""

from embedkit.store.backend import StoreCapabilities

CAPABILITIES = StoreCapabilities(embedded=True)
"""Qdrant Edge: in this process, one at a time, one shard; its HNSW index is built when `optimize` asks."""
