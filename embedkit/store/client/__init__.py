"""The qdrant-client backend: a Qdrant server, or qdrant-client's own local mode (store.py), and what a server's
answers mean (answers.py)."""

from embedkit.store.backend import StoreCapabilities

SERVER = StoreCapabilities(remote=True, parallel_writers=True, shards=True, builds_index_itself=True)
"""A Qdrant server: over the network, written by many at once, sharded and replicated, indexing by itself."""
LOCAL = StoreCapabilities(embedded=True, builds_index_itself=True)
"""qdrant-client's local mode: in this process, one at a time, one shard; it searches by brute force and has no
index to build."""
