"""The HTTP API's routes: collections, searches, embeddings, images, maps and bench results of one store."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl
from embedkit.retrieval.query import search
from embedkit.serve.schemas import (BrowseResponse, CollectionOut, EmbedResponse, FacetsOut, Filter, HitOut,
                                    LabelCount, MapOut, PointOut, SearchRequest, SearchResponse, SplitCount, VectorOut)
from embedkit.serve.nesting import MAX_DEPTH, check_nesting
from embedkit.serve.settings import MAX_K
from embedkit.serve.state import ServerState
from embedkit.serve.uploads import uploaded_file
from embedkit.store import Hit

api = APIRouter(prefix="/api")
FILTER = TypeAdapter(Filter)
MAX_PAGE = 200
"""Points one page of the API holds at most."""
VectorField = Annotated[str | None, Form(max_length=256, description="The vector to search; the default if left out.")]


def state(request: Request) -> ServerState:
    return request.app.state.server


def hit_out(rank: int, hit: Hit) -> HitOut:
    label = hit.payload.get("label")
    name = hit.payload.get("label_name")
    split = hit.payload.get("split")
    return HitOut(rank=rank, sample_id=hit.sample_id, score=hit.score, payload=hit.payload,
                  label=label if isinstance(label, int) and not isinstance(label, bool) else None,
                  label_name=None if name is None else str(name), split=None if split is None else str(split))


def respond(result: Any, started: float) -> SearchResponse:
    return SearchResponse(collection=result.collection, vector=result.vector_name, query=result.query,
                          hits=[hit_out(rank, hit) for rank, hit in enumerate(result.hits, 1)],
                          query_hit=None if result.query_hit is None else hit_out(0, result.query_hit),
                          seconds=round(time.perf_counter() - started, 6))


@api.get("/collections", response_model=list[CollectionOut], summary="Every collection and its vectors")
def list_collections(request: Request) -> list[CollectionOut]:
    out = []
    for info in state(request).store.collections():
        vectors = []
        for summary in info.vectors.values():
            record = summary.record
            modality = record.modality if record else None
            vectors.append(VectorOut(
                name=summary.name, dim=summary.dim, points=summary.points, encoder=record.encoder if record else None,
                modality=modality, embeds_text=modality in ("text", "image+text"),
                embeds_images=modality in ("image", "image+text"), default=summary.name == info.default_vector))
        out.append(CollectionOut(name=info.name, points=info.points, default_vector=info.default_vector,
                                 vectors=vectors, half_written=info.half_written))
    return out


@api.get("/collections/{collection}/facets", response_model=FacetsOut,
            summary="The labels and splits of a collection, and how many points have each")
def facets(request: Request, collection: str) -> FacetsOut:
    server = state(request)
    server.require(collection)
    store = server.store
    labels = {value: count for value, count in store.facet(collection, "label").items() if isinstance(value, int)}
    names = store.label_names(collection, sorted(labels))
    return FacetsOut(
        labels=[LabelCount(label=label, name=names.get(label), count=count) for label, count in sorted(labels.items())],
        splits=[SplitCount(split=str(split), count=count) for split, count in store.facet(collection, "split").items()])


@api.post("/collections/{collection}/search", response_model=SearchResponse,
             summary="Search by a stored sample's id, by text, or by liked and disliked examples")
def search_json(request: Request, collection: str, body: SearchRequest) -> SearchResponse:
    server = state(request)
    started = time.perf_counter()
    if sum((body.id is not None, body.text is not None, bool(body.like or body.unlike))) != 1:
        raise InvalidOptionError('give exactly one query: "id", "text" or "like" (with "unlike"); to search by an '
                                 f'image, POST it to /api/collections/{collection}/search/image')
    if body.text is not None:
        vector = server.vector(collection, body.vector, embeds="text")
        with server.encoders.using(vector) as encoder:
            result = search(collection, encoder=encoder, text=body.text, k=body.k, filter=body.filter,
                            store=server.store, exact=body.exact, vector=vector)
        return respond(result, started)
    vector = server.vector(collection, body.vector)
    result = search(collection, sample_id=body.id, like=body.like, unlike=body.unlike, k=body.k,
                    filter=body.filter, store=server.store, exact=body.exact, vector=vector)
    return respond(result, started)


def parse_filter(text: str | None, depth: int = MAX_DEPTH) -> dict[str, Any]:
    if not text:
        return {}
    check_nesting(text, depth, what="filter")  # before json.loads, which recurses as deep as the text nests
    try:
        return FILTER.validate_python(json.loads(text))
    except (ValueError, ValidationError) as error:
        raise InvalidOptionError(f'filter is not a JSON object of payload conditions such as {{"label": 3}} '
                                 f'({str(error).splitlines()[0]})') from error


@api.get("/collections/{collection}/points", response_model=BrowseResponse,
         summary="Page through the points whose payloads match a filter, with no query (a paged scroll)")
def browse_points(
    request: Request,
    collection: str,
    filter: Annotated[str | None, Query(max_length=8192, description='Payload conditions as JSON: {"cluster": 3}; '
                                                                     'none: every point.')] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Points on the page.")] = 24,
    offset: Annotated[str | None, Query(max_length=64, description="A number of points to skip, or the "
                                                                   "next_offset of the page before.")] = None,
) -> BrowseResponse:
    from embedkit.retrieval.browse import browse

    server = state(request)
    server.require(collection)
    page = browse(collection, store=server.store, filter=parse_filter(filter), limit=limit, offset=offset)
    points = []
    for point in page.points:
        hit = hit_out(0, Hit(point.sample_id, 0.0, point.payload))
        points.append(PointOut(sample_id=hit.sample_id, label=hit.label, label_name=hit.label_name, split=hit.split,
                               payload=hit.payload))
    return BrowseResponse(collection=collection, filter=page.filter, matching=page.matching, points=points,
                          next_offset=page.next_offset, warnings=page.warnings)


@api.post("/collections/{collection}/search/image", response_model=SearchResponse,
             summary="Search by an uploaded image, embedded by the encoder that made the collection's vectors")
def search_image(
    request: Request,
    collection: str,
    image: Annotated[UploadFile, File(description="The query image (JPEG, PNG, WebP, ...).")],
    vector: VectorField = None,
    k: Annotated[int, Form(ge=1, le=MAX_K)] = 10,
    filter: Annotated[str | None, Form(max_length=8192, description='Payload conditions as JSON: {"label": 3}.')] = None,
    exact: Annotated[bool, Form()] = False,
) -> SearchResponse:
    server = state(request)
    started = time.perf_counter()
    conditions = parse_filter(filter, server.settings.max_json_depth)
    chosen = server.vector(collection, vector, embeds="image")
    with server.encoders.using(chosen) as encoder, uploaded_file(image, server.settings.max_upload_bytes) as path:
        result = search(collection, encoder=encoder, image=path, k=k, filter=conditions, store=server.store,
                        exact=exact, vector=chosen)
    result.query["image"] = image.filename or "upload"
    return respond(result, started)


@api.post("/collections/{collection}/embed", response_model=EmbedResponse,
             summary="Embed an uploaded image as the collection's vectors were embedded")
def embed_image(
    request: Request,
    collection: str,
    image: Annotated[UploadFile, File(description="The image to embed.")],
    vector: VectorField = None,
) -> EmbedResponse:
    server = state(request)
    chosen = server.vector(collection, vector, embeds="image")
    with server.encoders.using(chosen) as encoder, uploaded_file(image, server.settings.max_upload_bytes) as path:
        embedding = chosen.embed_images([path], encoder)[0]
    return EmbedResponse(collection=collection, vector=chosen.name, encoder=encoder.name, dim=len(embedding),
                         embedding=[float(value) for value in embedding])


@api.get("/collections/{collection}/image", summary="The image of a stored sample (only samples the collection "
            "references), whole or as a thumbnail", responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}})
def point_image(request: Request, collection: str,
                id: Annotated[str, Query(min_length=1, max_length=1024, description="The sample id.")],
                size: Annotated[int | None, Query(ge=16, le=1024, description="Fit into a box this wide.")] = None,
                ) -> Response:
    server = state(request)
    server.require(collection)
    content, media = server.images.encoded(collection, id, size)
    return Response(content, media_type=media, headers={"Cache-Control": "private, max-age=3600"})


@api.get("/collections/{collection}/map", response_model=MapOut,
            summary="A 2-D PCA map of a collection's vectors (a random sample of large collections)")
def collection_map(request: Request, collection: str,
                   vector: Annotated[str | None, Query(max_length=256)] = None) -> MapOut:
    from embedkit.serve.maps import pca_map

    server = state(request)
    return pca_map(server, collection, server.vector(collection, vector).name)


@api.get("/collections/{collection}/bench", response_model=list[dict[str, Any]],
            summary="The `embedkit bench` results of a collection (by its name), from the server's results folders")
def bench_results(request: Request, collection: str) -> list[dict[str, Any]]:
    from embedkit.bench.report import load_results

    server = state(request)
    server.require(collection)
    found = []
    for folder in server.settings.results:
        if folder.is_dir():
            try:
                results = load_results([folder])
            except InvalidOptionError:
                continue
            found += [result for result in results if (result.get("provenance") or {}).get("collection") == collection]
    return found


@hookimpl
def register_routes(router: APIRouter) -> None:
    """The built-in API, added through the hook that plugins use."""
    router.include_router(api)
