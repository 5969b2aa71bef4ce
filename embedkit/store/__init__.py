"""Vector stores: Qdrant Edge embedded (the default), a Qdrant server, or a plugin's backend, behind one interface."""

from embedkit.store.backend import StoreCapabilities
from embedkit.store.base import CollectionInfo, Hit, Store, VectorSummary
from embedkit.store.collection_options import CollectionOptions
from embedkit.store.collection_vector import CollectionVector
from embedkit.store.location import STORES, default_store_path, open_store, store_backend, using_store
from embedkit.store.schema import METADATA_POINT_ID, SAMPLE_NAMESPACE, point_id

__all__ = [
    "METADATA_POINT_ID",
    "SAMPLE_NAMESPACE",
    "STORES",
    "CollectionInfo",
    "CollectionOptions",
    "CollectionVector",
    "Hit",
    "Store",
    "StoreCapabilities",
    "VectorSummary",
    "default_store_path",
    "open_store",
    "point_id",
    "store_backend",
    "using_store",
]
