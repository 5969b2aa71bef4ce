"""Which stored vector of a collection an analysis reads: the one place analysis answers it, until the store hands
out the vector itself (issue 23)."""

from __future__ import annotations

from embedkit.encoders import vector_name_candidates
from embedkit.encoders.names import find_stored
from embedkit.errors import InvalidOptionError
from embedkit.retrieval.query import stored_vector_name
from embedkit.store import Store


def vector_name(store: Store, collection: str, vector: str | None, *, names_only: bool = False) -> str:
    """The stored vector `vector` names (any spelling or alias; None: the collection's only or default vector).

    By default a vector made by the encoder `vector` names is found too (as search finds it); with `names_only`,
    only the stored names count and a miss lists them (as `duplicates` has always answered)."""
    if not names_only:
        return stored_vector_name(store, collection, vector)
    stored = store.vector_names(collection)
    if not stored:
        raise InvalidOptionError(f"collection {collection!r} does not exist in {store.location} or has no vectors; "
                                 f"`embedkit collections` lists what there is")
    if vector is None:
        default = stored[0] if len(stored) == 1 else store.default_vector(collection)
        if default not in stored:
            raise InvalidOptionError(f"collection {collection!r} has several vectors ({', '.join(stored)}); "
                                     f"pick one with --encoder")
        return str(default)
    found = find_stored(vector_name_candidates(vector), stored)
    if found is None:
        raise InvalidOptionError(f"collection {collection!r} has no vector {vector!r} (it has: {', '.join(stored)}); "
                                 f"pick one of those with --encoder")
    return found
