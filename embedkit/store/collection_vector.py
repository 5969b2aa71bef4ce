"""One named vector of a collection: which it is, the record of what made it, and its query encoder.

"Which vector of this collection, made by what" is answered here once; search, analysis, serve and the
command line take the answer (`Store.vector`) instead of asking the store again. Nothing here imports torch
until a query must be embedded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from embedkit.encoders import vector_name_candidates
from embedkit.encoders.names import find_stored
from embedkit.errors import InvalidOptionError, TextNotSupportedError
from embedkit.images import ImageInput, ReadOptions, load_image
from embedkit.records import VectorRecord
from embedkit.store.schema import mismatch_error

if TYPE_CHECKING:
    from PIL import Image

    from embedkit.encoders import Encoder

MODALITIES = ("image", "text")


class Catalogue(Protocol):
    """What finding a vector asks of a store."""

    location: str

    def vector_names(self, collection: str) -> list[str]: ...

    def vector_record(self, collection: str, vector_name: str) -> VectorRecord | None: ...

    def default_vector(self, collection: str) -> str | None: ...


@dataclass
class CollectionVector:
    """The vector `name` of `collection`, and `record`, what made it (None for vectors embedkit did not write),
    read from the store when first asked for: a search by a stored id never needs it."""

    collection: str
    name: str
    recorded: VectorRecord | None | Callable[[], VectorRecord | None] = field(default=None, repr=False)
    """The record, or how to read it."""
    _encoders: dict[tuple[Any, ...], Encoder] = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def record(self) -> VectorRecord | None:
        return self.recorded() if callable(self.recorded) else self.recorded

    @property
    def key(self) -> str:
        """What identifies the encoder of these vectors: equal keys, interchangeable query encoders."""
        return repr(self.record)

    @property
    def made_by(self) -> str:
        """The name of the encoder the record names ("" without a record)."""
        return "" if self.record is None else self.record.encoder

    def embeds(self, modality: str) -> bool:
        """Whether the encoder that made these vectors embeds `modality` ("image" or "text")."""
        return self.record is not None and self.record.modality in (modality, "image+text")

    def encoder(self, *, device: str = "auto", precision: str | None = None, weights: Any = None) -> Encoder:
        """The encoder that made these vectors, rebuilt from the record once (per device, precision and weights)."""
        options = (device, precision, weights)
        if options not in self._encoders:
            if self.record is None or not self.record.encoder:
                raise InvalidOptionError(f"vector {self.name!r} of collection {self.collection!r} has no record of "
                                         f"the encoder that made it; pass the encoder (an embedkit.Encoder) to "
                                         f"search with")
            from embedkit.encoders.rebuild import encoder_from_record

            given = {key: value for key, value in (("precision", precision), ("weights", weights)) if value is not None}
            self._encoders[options] = encoder_from_record(self.record, device=device, **given)
        return self._encoders[options]

    def check(self, encoder: Encoder) -> Encoder:
        """`encoder`, when it makes these vectors; SchemaMismatchError names the field that differs."""
        given = encoder.record.replace(text_field=self.record.text_field if self.record else None)
        if self.record is not None and self.record.differences(given):
            raise mismatch_error(self.collection, self.name, self.record, given)
        return encoder

    def read_image(self, image: ImageInput, encoder: Encoder) -> Image.Image:
        """`image` as ingest read the files of these vectors (orientation, background, JPEG draft size)."""
        reading = ReadOptions.for_reading(self.record.reading if self.record else None, encoder.input_size)
        return load_image(image, reading)

    def embed_images(self, images: list[ImageInput], encoder: Encoder | None = None) -> np.ndarray:
        """`images` embedded as these vectors were: read as ingest read them, by their encoder (or `encoder`)."""
        model = encoder or self.encoder()
        return model.encode_images([self.read_image(image, model) for image in images])

    def embed_texts(self, texts: list[str], encoder: Encoder | None = None) -> np.ndarray:
        """`texts` embedded by the encoder of these vectors (or `encoder`), which must embed text."""
        model = encoder or self.encoder()
        if not model.embeds_text:
            raise TextNotSupportedError(f"encoder {model.name} embeds images only; search by text needs a text "
                                        f"encoder such as clip:... that also filled this collection")
        return model.encode_texts(texts)


def find_vector(store: Catalogue, collection: str, encoder: str | None = None, *,
                embeds: str | None = None) -> CollectionVector:
    """The vector of `collection` that `encoder` (a vector name, an encoder name or alias) names.

    With no encoder, the collection's only vector (of those whose encoder embeds `embeds`, "image" or "text",
    when given), else its default one. Aliases and older spellings find their vectors: `efficientnet-lite0`
    finds `efficientnet_lite0.imagenet1k`; so does the name of the encoder a record names.
    """
    if embeds is not None and embeds not in MODALITIES:
        raise InvalidOptionError(f"embeds is one of {', '.join(MODALITIES)}, not {embeds!r}")
    stored = store.vector_names(collection)
    if not stored:
        raise InvalidOptionError(f"collection {collection!r} does not exist in {store.location} or has no vectors; "
                                 f"`embedkit collections` lists what there is")
    vectors = {name: CollectionVector(collection, name, functools.partial(store.vector_record, collection, name))
               for name in stored}
    return vectors[_chosen(store, collection, encoder, vectors, embeds)]


def _chosen(store: Catalogue, collection: str, encoder: str | None, vectors: dict[str, CollectionVector],
            embeds: str | None) -> str:
    stored = list(vectors)
    if encoder is None:
        fitting = [name for name in stored if embeds is None or vectors[name].embeds(embeds)]
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
    wanted = vector_name_candidates(encoder)
    found = find_stored(wanted, stored)
    if found is not None:
        return found
    made_by = [name for name, vector in vectors.items() if find_stored([vector.made_by], wanted)]
    if len(made_by) == 1:
        return made_by[0]
    if made_by:
        raise InvalidOptionError(f"collection {collection!r} has several vectors from {wanted[-1]!r} "
                                 f"({', '.join(made_by)}); pick one of those names with --encoder")
    raise InvalidOptionError(f"collection {collection!r} has no vector {encoder!r} (it has: {', '.join(stored)}); pick "
                             f"one of those with --encoder, or ingest with that encoder first")
