"""What a collection records about itself on its metadata point: the record of each vector name, the
datasets it holds and its default vector (docs/store.md)."""

from __future__ import annotations

from typing import Any

from embedkit.errors import InvalidOptionError
from embedkit.records import VectorRecord
from embedkit.store import schema
from embedkit.store.backend import StoreBackend
from embedkit.store.points import Conditions


class CollectionMetadata(StoreBackend):
    """The metadata point, read and written through a backend's primitives (it declares none)."""

    def datasets(self, collection: str) -> list[str]:
        """The identities of the datasets a collection holds (`Dataset.identity`), as ingest recorded them."""
        return list(self._read_metadata(collection).get("datasets", [])) if self._has_collection(collection) else []

    def add_dataset(self, collection: str, identity: str) -> None:
        """Record that `collection` holds the dataset `identity`."""
        self.check_writable(f"record a dataset in collection {collection!r}")
        metadata = self._read_metadata(collection)
        if identity not in metadata.setdefault("datasets", []):
            metadata["datasets"].append(identity)
            self._write_metadata(collection, metadata)

    def default_vector(self, collection: str) -> str | None:
        """The vector a query uses when none is named: the first one ingested, unless changed."""
        if not self._has_collection(collection):
            return None
        metadata = self._read_metadata(collection)
        vectors = metadata.get("vectors") or {}
        if metadata.get("default_vector") is None and vectors:  # embedkit 0.1.0 recorded none: the first made
            return min(vectors, key=lambda name: str(vectors[name].get("created_at", "")))
        return metadata.get("default_vector")

    def set_default_vector(self, collection: str, vector_name: str) -> None:
        self.check_writable(f"set the default vector of collection {collection!r}")
        if not self._has_collection(collection) or vector_name not in self._vector_dims(collection):
            raise InvalidOptionError(f"collection {collection!r} has no vector {vector_name!r}; "
                                     f"`embedkit collections` lists its vectors")
        metadata = self._read_metadata(collection)
        metadata["default_vector"] = vector_name
        self._write_metadata(collection, metadata)

    def vector_record(self, collection: str, vector_name: str) -> VectorRecord | None:
        """What made the vectors of `vector_name`: the recorded VectorRecord, a bare one (name and dim) for a
        vector embedkit did not write, or None when the collection has no such vector."""
        if not self._has_collection(collection):
            return None
        stored = self._read_metadata(collection)["vectors"].get(vector_name)
        if stored is not None:
            return schema.stored_record(stored)
        dim = self._vector_dims(collection).get(vector_name)
        return None if dim is None else VectorRecord(vector_name, dim)

    def index_unfinished(self, collection: str) -> bool:
        """Whether points were written after the index was last built: a run stopped before building it."""
        return self._has_collection(collection) and bool(self._read_metadata(collection).get("index_unfinished"))

    def _note_index(self, collection: str, unfinished: bool) -> None:
        """Record that the index lags the points (before a write), or caught up (after a build); once per run.

        A server indexes what is written by itself: only a bulk load (embedkit/store/bulk_load.py) leaves its
        index unfinished, and the build clears that here too."""
        noted: set[str] = self.__dict__.setdefault("_index_noted_unfinished", set())
        if unfinished and (self.capabilities.builds_index_itself or collection in noted):
            return
        metadata = self._read_metadata(collection)
        if bool(metadata.get("index_unfinished")) != unfinished:
            metadata["index_unfinished"] = unfinished
            self._write_metadata(collection, metadata)
        if unfinished:
            noted.add(collection)
        else:
            noted.discard(collection)

    def record_counts(self, collection: str) -> None:
        """Record how many points each vector has now, for `count_problems` to compare with later; a writer
        calls it when it is done (ingest, delete)."""
        self.check_writable(f"record the point counts of collection {collection!r}")
        metadata = self._read_metadata(collection)
        counts = {name: self._count(collection, Conditions(has_vectors=[name])) for name in self._vector_dims(collection)}
        if metadata.get("counts") != counts:
            metadata["counts"] = counts
            self._write_metadata(collection, metadata)

    def count_problems(self, collection: str) -> list[str]:
        """The cheap part of `embedkit verify`: one line for a missing metadata point, and one for each vector
        with fewer points than were recorded when the last writer finished (a damaged or truncated store)."""
        if not self._has_collection(collection):
            return []
        if not self._retrieve(collection, [schema.METADATA_POINT_ID], False, []):
            return [f"collection {collection!r} has lost its metadata point (what made its vectors is unknown, so "
                    f"nothing can check them); ingest its datasets again into a new collection (-c NAME)"]
        recorded = self._read_metadata(collection).get("counts") or {}
        problems = []
        for name, expected in sorted(recorded.items()):
            if name not in self._vector_dims(collection) or not isinstance(expected, int):
                continue
            found = self._count(collection, Conditions(has_vectors=[name]))
            if found < expected:
                problems.append(
                    f"collection {collection!r} holds {found} points with vector {name!r} but {expected} were "
                    f"recorded when it was last written: {expected - found} lost (a damaged store?); an ingest "
                    f"stores them again, `embedkit verify -c {collection} -e {name}` checks the rest")
        return problems

    def _read_metadata(self, collection: str) -> dict[str, Any]:
        records = self._retrieve(collection, [schema.METADATA_POINT_ID], True, [])
        metadata = records[0].payload.get(schema.METADATA_KEY) if records else None
        if not isinstance(metadata, dict):
            metadata = {"schema_version": schema.SCHEMA_VERSION}
        metadata.setdefault("vectors", {})
        return metadata

    def _write_metadata(self, collection: str, metadata: dict[str, Any]) -> None:
        self._put_metadata_point(collection, {schema.METADATA_KEY: metadata})
