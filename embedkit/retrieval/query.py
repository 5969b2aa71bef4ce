"""Queries against a collection: by image, by stored sample id, by text, or by liked and disliked examples."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from embedkit.encoders import ENCODERS, Encoder, get_encoder
from embedkit.errors import InvalidOptionError, TextNotSupportedError
from embedkit.images import ImageInput, load_image
from embedkit.store import Hit, Store, using_store


@dataclass
class SearchResult:
    collection: str
    vector_name: str
    query: dict[str, Any]
    hits: list[Hit]
    query_hit: Hit | None = None
    """For a query by sample id: that sample, with its payload."""


def stored_vector_name(store: Store, collection: str, encoder: str | Encoder | None) -> str:
    """The vector of `collection` that `encoder` (a name, an alias, or an Encoder) fills.

    With no encoder, the collection's only vector. The registry resolves aliases, so
    `efficientnet-lite0` finds `efficientnet_lite0.imagenet1k`.
    """
    names = store.vector_names(collection)
    if not names:
        raise InvalidOptionError(
            f"collection {collection!r} does not exist in {store.location} or has no vectors; "
            f"`embedkit collections` lists what there is"
        )
    if isinstance(encoder, Encoder):
        wanted = [encoder.vector_name]
    elif encoder is None:
        if len(names) == 1:
            return names[0]
        raise InvalidOptionError(f"collection {collection!r} has several vectors ({', '.join(names)}); pick one with --encoder")
    else:
        wanted = [encoder]
        if encoder not in names:
            wanted.append(ENCODERS.resolve(encoder)[0].name)
    for name in wanted:
        if name in names:
            return name
    raise InvalidOptionError(
        f"collection {collection!r} has no vectors from {wanted[-1]!r}; it has {', '.join(names)}"
    )


def _with_options(encoder: str | Encoder | None, options: dict[str, Any]) -> str | Encoder | None:
    """Options that change the vectors (weights, layer, image size) name another vector: build the encoder
    to learn which. Without them the name alone finds the vector, and no model is loaded."""
    meaningful = {key: value for key, value in options.items() if key not in ("device", "precision")}
    if isinstance(encoder, str) and meaningful:
        return get_encoder(encoder, **options)
    return encoder


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
    **encoder_options: Any,
) -> SearchResult:
    """The k nearest stored samples to one query.

    Exactly one of `image` (a file or PIL image, embedded with `encoder`), `sample_id` (a stored
    sample, whose own vector is the query and which is left out of the results), `text` (for
    encoders that embed text), or `like`/`unlike` (sample ids, through Qdrant's recommend query).
    """
    given = [name for name, value in (("image", image), ("sample_id", sample_id), ("text", text),
                                      ("like", like or unlike)) if value]
    if len(given) != 1:
        raise InvalidOptionError("give exactly one query: --image FILE, --id SAMPLE_ID, --text TEXT, or --like/--unlike IDs")
    if unlike and not like:
        raise InvalidOptionError("--unlike needs at least one --like example")
    if k < 1:
        raise InvalidOptionError(f"k must be at least 1, got {k}")
    query_hit = None
    with using_store(store) as target:
        if image is not None or text is not None:
            model = get_encoder(encoder, **encoder_options) if isinstance(encoder, str) else encoder
            if model is None:
                raise InvalidOptionError("a query by image or text needs --encoder")
            vector_name = stored_vector_name(target, collection, model)
            if text is not None:
                if not model.embeds_text:
                    raise TextNotSupportedError(
                        f"encoder {model.name} embeds images only; search by text needs a text encoder "
                        f"such as clip:... that also filled this collection"
                    )
                query = model.encode_texts([text])[0]
            else:
                query = model.encode_images([load_image(image)])[0]
            hits = target.search(collection, vector_name, query, k, filter=filter, exact=exact)
        elif sample_id is not None:
            vector_name = stored_vector_name(target, collection, _with_options(encoder, encoder_options))
            query = target.get_vectors(collection, vector_name, [sample_id])[0]
            hits = target.search(collection, vector_name, query, k + 1, filter=filter, exact=exact)
            hits = [hit for hit in hits if hit.sample_id != sample_id][:k]
            query_hit = target.search(collection, vector_name, query, 1, filter={"sample_id": sample_id})[0]
        else:
            vector_name = stored_vector_name(target, collection, _with_options(encoder, encoder_options))
            hits = target.recommend(collection, vector_name, list(like), list(unlike), k, filter=filter)
        shown_image = None if image is None else str(image) if isinstance(image, (str, os.PathLike)) else "<image>"
        query_record = {"image": shown_image,
                        "sample_id": sample_id, "text": text, "like": list(like), "unlike": list(unlike)}
        return SearchResult(collection, vector_name, {k_: v for k_, v in query_record.items() if v}, hits, query_hit)
