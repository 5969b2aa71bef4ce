"""What an ingest embeds of each sample, chosen once for the run: its image, or the text of one payload field.
Each says which encoders can embed it, the vector it fills, which samples are to encode again, and the
`Encoding` that encodes them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from embedkit.datasets import DatasetView
from embedkit.encoders import Encoder
from embedkit.encoders.names import text_vector_name
from embedkit.errors import ImagesNotSupportedError, InvalidOptionError, TextNotSupportedError
from embedkit.images import ReadOptions
from embedkit.ingestion.encoding import Encoding
from embedkit.ingestion.freshness import CONTENT_FIELD, Todo, samples_to_encode, text_stamp
from embedkit.ingestion.image_encoding import ImageEncoding
from embedkit.ingestion.inputs import check_preprocessing
from embedkit.ingestion.ray import RayEncoding, RayIngest, encoder_maker
from embedkit.ingestion.text_encoding import TextEncoding
from embedkit.records import VectorRecord
from embedkit.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Images:
    """Each sample's image, encoded in this process or on Ray."""

    def check(self, model: Encoder, view: DatasetView, dataset_name: str) -> None:
        """Refuse, before any work, an encoder that cannot embed images or whose preprocessing no image gets through."""
        if not model.embeds_images:
            raise ImagesNotSupportedError(f"encoder {model.name} does not embed images; ingest images with an image "
                                          f"encoder, or embed a text column with --text-field")
        check_preprocessing(model.preprocess)

    def vector(self, model: Encoder, reading: ReadOptions) -> tuple[str, VectorRecord]:
        """The vector's name, and its record (with how image files became pixels)."""
        return model.vector_name, model.record.replace(reading=reading.reading())

    def to_encode(self, view: DatasetView, store: Store, collection: str, vector_name: str) -> Todo:
        """The samples without this vector, and those whose file changed: their points, every vector of them
        stale, are deleted here."""
        todo = samples_to_encode(view, store, collection, vector_name)
        if todo.changed:
            log.info("%d file(s) changed since they were embedded: embedding them again", len(todo.changed))
            store.delete(collection, todo.changed)
        return todo

    def encoding(self, model: Encoder, *, workers: int | None, ray: RayIngest | None,
                 built_by_name: bool) -> Encoding:
        """On Ray with `ray`, else in this process with `workers` decoding processes."""
        if ray is None:
            return ImageEncoding(workers)
        return RayEncoding(ray, encoder_maker(model, built_by_name))


@dataclass(frozen=True)
class TextField:
    """The text of the payload field `name` (a manifest column such as `caption`), embedded by an encoder that
    embeds text, under `names.text_vector_name`."""

    name: str

    def check(self, model: Encoder, view: DatasetView, dataset_name: str) -> None:
        """Refuse, before any work, an encoder that embeds no text, and a field the samples lack."""
        if not model.embeds_text:
            raise TextNotSupportedError(f"encoder {model.name} embeds images only; embed the text field "
                                        f"{self.name!r} with a text encoder (st:..., clip:...)")
        if len(view) and self.name not in view[0].payload:
            raise InvalidOptionError(f"dataset {dataset_name} has no text field {self.name!r} (its samples have: "
                                     f"{', '.join(view[0].payload) or 'none'}); name a column of the manifest")

    def vector(self, model: Encoder, reading: ReadOptions) -> tuple[str, VectorRecord]:
        """The vector's name (`NAME@FIELD` beside an image+text encoder's image vectors), and its record."""
        return (text_vector_name(model.vector_name, self.name, model.embeds_images),
                model.record.replace(text_field=self.name, modality="text", reading=None))

    def to_encode(self, view: DatasetView, store: Store, collection: str, vector_name: str) -> Todo:
        """The samples without this vector, and those whose text changed: only their vector of it is stale, and it
        is overwritten, the point kept."""
        return samples_to_encode(view, store, collection, vector_name, f"{CONTENT_FIELD}@{self.name}",
                                 text_stamp(self.name))

    def encoding(self, model: Encoder, *, workers: int | None, ray: RayIngest | None,
                 built_by_name: bool) -> Encoding:
        """In this process (texts are not sent to Ray)."""
        return TextEncoding(self.name)
