"""What the HTTP API takes and gives back, as pydantic models: they are its OpenAPI schema, and they refuse
malformed requests with a 422 before any handler runs."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from embedkit.serve.settings import MAX_K

FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,128}(\.[A-Za-z0-9_-]{1,128})*$")]
"""A payload field (Qdrant's key syntax without array indexes): `label`, `meta.camera`."""
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=512)]
SampleId = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
FilterValue = Union[Int64, Text]
Filter = Annotated[dict[FieldName, Union[FilterValue, Annotated[list[FilterValue], Field(min_length=1, max_length=256)]]],
                   Field(max_length=16)]


class SearchRequest(BaseModel):
    """Exactly one query: `id` (a stored sample), `text` (for encoders that embed text), or `like` examples."""

    model_config = ConfigDict(extra="forbid")
    vector: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = Field(
        None, description="The collection's vector to search (an encoder name or alias); its default when left out.")
    id: SampleId | None = Field(None, description="Search from this stored sample's own vector.")
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    like: Annotated[list[SampleId], Field(max_length=64)] = []
    unlike: Annotated[list[SampleId], Field(max_length=64)] = []
    k: Annotated[int, Field(ge=1, le=MAX_K)] = 10
    filter: Filter = Field({}, description='Payload conditions, all of which must hold: {"label": 3} or '
                                           '{"split": ["train", "test"]} (any of).')
    exact: bool = Field(False, description="Exact search instead of the HNSW index.")


class HitOut(BaseModel):
    rank: int
    sample_id: str
    score: float
    label: int | None = None
    label_name: str | None = None
    split: str | None = None
    payload: dict[str, Any]


class PointOut(BaseModel):
    sample_id: str
    label: int | None = None
    label_name: str | None = None
    split: str | None = None
    payload: dict[str, Any]


class BrowseResponse(BaseModel):
    collection: str
    filter: dict[str, Any]
    matching: int = Field(description="How many points match the filter in all.")
    points: list[PointOut]
    next_offset: str | None = Field(description="The offset of the next page; null: this page is the last.")
    warnings: list[str] = Field(default_factory=list, description="A line for each payload field the filter names "
                                "that a writer left half-written.")


class SearchResponse(BaseModel):
    collection: str
    vector: str
    query: dict[str, Any]
    hits: list[HitOut]
    query_hit: HitOut | None = Field(None, description="The sample searched from (by id), or the first liked one.")
    seconds: float


class VectorOut(BaseModel):
    name: str
    dim: int | None
    points: int
    encoder: str | None
    modality: str | None
    embeds_text: bool
    embeds_images: bool
    default: bool


class CollectionOut(BaseModel):
    name: str
    points: int
    default_vector: str | None
    vectors: list[VectorOut]
    half_written: list[str] = Field([], description="One line per command that left payload fields half-written "
                                                    "(killed before the end): filters on them see a mix of two runs")


class LabelCount(BaseModel):
    label: int
    name: str | None
    count: int


class SplitCount(BaseModel):
    split: str
    count: int


class FacetsOut(BaseModel):
    labels: list[LabelCount]
    splits: list[SplitCount]


class EmbedResponse(BaseModel):
    collection: str
    vector: str
    encoder: str
    dim: int
    embedding: list[float]


class MapPoint(BaseModel):
    id: str
    x: float
    y: float
    label: int | None
    label_name: str | None
    split: str | None


class MapOut(BaseModel):
    collection: str
    vector: str
    method: str
    total: int
    points: list[MapPoint]


class HealthOut(BaseModel):
    status: str
    version: str
    store: str
    encoders_loaded: list[str]


class ErrorOut(BaseModel):
    detail: str
