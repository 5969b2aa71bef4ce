"""Queries against a collection: by image, by stored sample id, by text, or by liked and disliked examples."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embedkit.errors import InvalidOptionError
from embedkit.images import ImageInput
from embedkit.store import CollectionVector, Hit, Store, using_store

if TYPE_CHECKING:
    from embedkit.encoders import Encoder

log = logging.getLogger(__name__)


@dataclass
class SearchResult:
    collection: str
    vector_name: str
    query: dict[str, Any]
    hits: list[Hit]
    query_hit: Hit | None = None
    """For a query by sample id: that sample, with its payload; by examples: the first liked one."""
    warnings: list[str] = field(default_factory=list)
    """One line per payload field the filter names that a writer left half-written (also logged)."""
    query_vector: np.ndarray | None = None
    """The vector searched with (None for a query by examples): re-ranking searches again from it."""


def _vector_name(encoder: str | Encoder | None, options: dict[str, Any]) -> str | None:
    """The vector name `encoder` fills. Options that change the vectors (weights, layer, image size) name another
    vector: build the encoder to learn which. Without them the name alone finds the vector, and no model is loaded."""
    if encoder is None or isinstance(encoder, str) and not _variant_options(options):
        return encoder
    if isinstance(encoder, str):
        from embedkit.encoders import get_encoder

        return get_encoder(encoder, **options).vector_name
    return encoder.vector_name


def _variant_options(options: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in options.items() if key not in ("device", "precision")}


def _query_encoder(vector: CollectionVector, encoder: str | Encoder | None, options: dict[str, Any]) -> Encoder:
    """`encoder` when it is an Encoder (checked against the record), else the one the record rebuilds."""
    if encoder is not None and not isinstance(encoder, str):
        return vector.check(encoder)
    given = {key: value for key, value in options.items() if key in ("device", "precision", "weights")}
    return vector.encoder(**given)


def search(
    collection: str,
    *,
    encoder: str | Encoder | None = None,
    image: ImageInput | None = None,
    sample_id: str | None = None,
    text: str | None = None,
    like: list[str] | tuple[str, ...] = (),
    unlike: list[str] | tuple[str, ...] = (),
    k: int = 10,
    filter: dict[str, Any] | None = None,
    store: Store | str | None = None,
    exact: bool = False,
    vector: CollectionVector | None = None,
    **encoder_options: Any,
) -> SearchResult:
    """The k nearest stored samples to one query.

    Exactly one of `image` (a file or PIL image), `sample_id` (a stored sample, whose own vector is the
    query and which is left out of the results), `text` (for encoders that embed text), or
    `like`/`unlike` (sample ids, through Qdrant's recommend query). An image or a text is embedded by
    the encoder that made the collection's vectors, rebuilt from their record; `encoder` only picks
    among several stored vectors (or is the Encoder to use, checked against the record). `vector`, the
    collection's vector as `Store.vector` found it, spares finding it again.
    """
    given = [name for name, value in (("image", image), ("sample_id", sample_id), ("text", text),
                                      ("like", like or unlike)) if value]
    if len(given) != 1:
        raise InvalidOptionError("give exactly one query: --image FILE, --id SAMPLE_ID, --text TEXT, or --like/--unlike "
                                 "IDs; to page through a collection without a query: embedkit browse -c COLLECTION "
                                 "[--filter FIELD=VALUE]")
    if unlike and not like:
        raise InvalidOptionError("--unlike needs at least one --like example")
    if k < 1:
        raise InvalidOptionError(f"k must be at least 1, got {k}")
    query_hit = query = None
    with using_store(store) as target:
        warnings = target.half_written(collection, list(filter)) if filter else []
        for line in warnings:  # the hits are filtered by values that are partly from an earlier run
            log.warning(line)
        if image is not None or text is not None:
            vector = vector or target.vector(collection, _vector_name(encoder, encoder_options),
                                             embeds="text" if text is not None else "image")
            model = _query_encoder(vector, encoder, encoder_options)
            query = (vector.embed_texts([text], model) if text is not None else vector.embed_images([image], model))[0]
            hits = target.search(collection, vector.name, query, k, filter=filter, exact=exact)
        elif sample_id is not None:
            vector = vector or target.vector(collection, _vector_name(encoder, encoder_options))
            query = target.get_vectors(collection, vector.name, [sample_id])[0]
            hits = target.search(collection, vector.name, query, k + 1, filter=filter, exact=exact)
            hits = [hit for hit in hits if hit.sample_id != sample_id][:k]
            query_hit = target.search(collection, vector.name, query, 1, filter={"sample_id": sample_id})[0]
        else:
            vector = vector or target.vector(collection, _vector_name(encoder, encoder_options))
            hits = target.recommend(collection, vector.name, list(like), list(unlike), k, filter=filter)
            example = target.get_vectors(collection, vector.name, [like[0]])[0]
            query_hit = target.search(collection, vector.name, example, 1, filter={"sample_id": like[0]})[0]
        shown_image = None if image is None else str(image) if isinstance(image, (str, os.PathLike)) else "<image>"
        query_record = {"image": shown_image,
                        "sample_id": sample_id, "text": text, "like": list(like), "unlike": list(unlike)}
        if filter and not hits and not target.count_matching(collection, filter=filter):
            shown = ", ".join(f"{field}={value!r}" for field, value in filter.items())
            raise InvalidOptionError(
                f"no point of collection {collection!r} has {shown}: check the field names and the values' types "
                f"(label is an integer, label_name a string; `embedkit export` shows the payloads)"
            )
        return SearchResult(collection, vector.name, {k_: v for k_, v in query_record.items() if v}, hits, query_hit,
                            warnings,
                            None if query is None else np.asarray(query, dtype=np.float32))
