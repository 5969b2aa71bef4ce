"""Queries against a collection: by image, by stored sample id, by text, or by liked and disliked examples."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from embedkit.encoders import Encoder, get_encoder, vector_name_candidates
from embedkit.encoders.names import find_stored
from embedkit.encoders.rebuild import encoder_from_record
from embedkit.errors import InvalidOptionError, TextNotSupportedError
from embedkit.images import ImageInput, ReadOptions, load_image
from embedkit.records import VectorRecord
from embedkit.store import Hit, Store, schema, using_store


@dataclass
class SearchResult:
    collection: str
    vector_name: str
    query: dict[str, Any]
    hits: list[Hit]
    query_hit: Hit | None = None
    """For a query by sample id: that sample, with its payload; by examples: the first liked one."""


def stored_vector_name(
    store: Store, collection: str, encoder: str | Encoder | None, *, embeds: str | None = None
) -> str:
    """The vector of `collection` that `encoder` (a name, an alias, or an Encoder) fills.

    With no encoder, the collection's only vector (of those whose encoder embeds `embeds`, "image" or
    "text", when given). Aliases and older spellings find their vectors: `efficientnet-lite0` finds
    `efficientnet_lite0.imagenet1k`.
    """
    stored = store.vector_names(collection)
    if not stored:
        raise InvalidOptionError(
            f"collection {collection!r} does not exist in {store.location} or has no vectors; "
            f"`embedkit collections` lists what there is"
        )
    if encoder is None:
        fitting = [name for name in stored if embeds is None or _embeds(store.vector_record(collection, name), embeds)]
        if len(fitting) == 1:
            return fitting[0]
        default = store.default_vector(collection)
        if default in fitting:
            return str(default)
        if not fitting:
            raise InvalidOptionError(f"no vector of collection {collection!r} was made by an encoder that embeds "
                                     f"{embeds} (it has: {', '.join(stored)}); ingest with one first")
        raise InvalidOptionError(f"collection {collection!r} has several vectors ({', '.join(fitting)}); pick one "
                                 f"with encoder= (--encoder), or set its default: embedkit collections default "
                                 f"{collection} VECTOR")
    wanted = [encoder.vector_name] if isinstance(encoder, Encoder) else vector_name_candidates(encoder)
    found = find_stored(wanted, stored)
    if found is not None:
        return found
    made_by = [name for name in stored if find_stored([_record_encoder(store, collection, name)], wanted)]
    if len(made_by) == 1:
        return made_by[0]
    if made_by:
        raise InvalidOptionError(f"collection {collection!r} has several vectors from {wanted[-1]!r} "
                                 f"({', '.join(made_by)}); pick one of those names with --encoder")
    raise InvalidOptionError(f"collection {collection!r} has no vectors from {wanted[-1]!r}; it has {', '.join(stored)}")


def _record_encoder(store: Store, collection: str, vector_name: str) -> str:
    record = store.vector_record(collection, vector_name)
    return "" if record is None else record.encoder


def _embeds(record: VectorRecord | None, modality: str) -> bool:
    return record is not None and record.modality in (modality, "image+text")


def query_encoder(store: Store, collection: str, vector_name: str, encoder: Encoder | None,
                  options: dict[str, Any]) -> Encoder:
    """The encoder that made `vector_name`: `encoder` when given (checked against the record), else rebuilt
    from the collection's record of what made the vectors."""
    record = store.vector_record(collection, vector_name)
    if encoder is not None:
        given = encoder.record.replace(text_field=record.text_field if record else None)
        if record is not None and record.differences(given):
            raise schema.mismatch_error(collection, vector_name, record, given)
        return encoder
    if record is None or not record.encoder:
        raise InvalidOptionError(f"vector {vector_name!r} of collection {collection!r} has no record of the encoder "
                                 f"that made it; pass the encoder (an embedkit.Encoder) to search with")
    given = {key: value for key, value in options.items() if key in ("device", "precision", "weights")}
    return encoder_from_record(record, **given)


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

    Exactly one of `image` (a file or PIL image), `sample_id` (a stored sample, whose own vector is the
    query and which is left out of the results), `text` (for encoders that embed text), or
    `like`/`unlike` (sample ids, through Qdrant's recommend query). An image or a text is embedded by
    the encoder that made the collection's vectors, rebuilt from their record; `encoder` only picks
    among several stored vectors (or is the Encoder to use, checked against the record).
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
            embeds = "text" if text is not None else "image"
            chosen = _with_options(encoder, encoder_options)
            vector_name = stored_vector_name(target, collection, chosen, embeds=embeds)
            model = query_encoder(target, collection, vector_name, chosen if isinstance(chosen, Encoder) else None,
                                  encoder_options)
            if text is not None:
                if not model.embeds_text:
                    raise TextNotSupportedError(
                        f"encoder {model.name} embeds images only; search by text needs a text encoder "
                        f"such as clip:... that also filled this collection"
                    )
                query = model.encode_texts([text])[0]
            else:
                record = target.vector_record(collection, vector_name)
                reading = ReadOptions.for_reading(record.reading if record else None, model.input_size)
                query = model.encode_images([load_image(image, reading)])[0]  # read as ingest read the files
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
            example = target.get_vectors(collection, vector_name, [like[0]])[0]
            query_hit = target.search(collection, vector_name, example, 1, filter={"sample_id": like[0]})[0]
        shown_image = None if image is None else str(image) if isinstance(image, (str, os.PathLike)) else "<image>"
        query_record = {"image": shown_image,
                        "sample_id": sample_id, "text": text, "like": list(like), "unlike": list(unlike)}
        if filter and not hits and not target.count_matching(collection, filter=filter):
            shown = ", ".join(f"{field}={value!r}" for field, value in filter.items())
            raise InvalidOptionError(
                f"no point of collection {collection!r} has {shown}: check the field names and the values' types "
                f"(label is an integer, label_name a string; `embedkit export` shows the payloads)"
            )
        return SearchResult(collection, vector_name, {k_: v for k_, v in query_record.items() if v}, hits, query_hit)
