"""Vector stores: Qdrant Edge embedded (the default) or a Qdrant server, behind one interface."""

from embedkit.store.base import CollectionInfo, Hit, Store, VectorSummary
from embedkit.store.collection_options import CollectionOptions
from embedkit.store.collection_vector import CollectionVector
from embedkit.store.location import default_store_path, open_store, using_store
from embedkit.store.schema import METADATA_POINT_ID, SAMPLE_NAMESPACE, point_id

__all__ = [
    "METADATA_POINT_ID",
    "SAMPLE_NAMESPACE",
    "CollectionInfo",
    "CollectionOptions",
    "CollectionVector",
    "Hit",
    "Store",
    "VectorSummary",
    "default_store_path",
    "open_store",
    "point_id",
    "using_store",
]
