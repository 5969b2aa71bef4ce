"""Requests made from the API's own OpenAPI schema (schemathesis): valid and malformed ones, none answered with a 500,
every answer as the schema describes it (status, content type, body)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402


@pytest.fixture(scope="module")
def api_schema(served):
    from embedkit.serve import ServeSettings, create_app
    from embedkit.serve.settings import LOOPBACK_HOSTS
    from embedkit.store import open_store

    with open_store(served.store) as store:
        chosen = ServeSettings(results=(served.results,), allowed_hosts=(*LOOPBACK_HOSTS, "testserver"))  # its Host
        yield schemathesis.openapi.from_asgi("/openapi.json", create_app(store, chosen))


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_request_the_schema_allows_or_breaks_gets_a_server_error(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 10  # every route of the API, /api/health included
    ran = []
    for operation in operations:
        @given(case=operation.as_strategy(schemathesis.GenerationMode(mode)))
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            # a request the schema allows may still be refused with a 4xx saying why (no query, an unknown vector)
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            call()
            ran.append(operation.label)
        except Unsatisfiable:  # a route whose parameters are any string has no malformed request to make
            assert mode == "negative"
    assert len(ran) == len(operations) if mode == "positive" else {
        "POST /api/collections/{collection}/search", "POST /api/collections/{collection}/search/image",
        "POST /api/collections/{collection}/embed", "GET /api/collections/{collection}/image"} <= set(ran)


def test_deep_and_large_bodies_get_a_4xx_the_schema_describes(api_schema, served):
    search = next(result.ok() for result in api_schema.get_all_operations()
                  if result.ok().label == "POST /api/collections/{collection}/search")
    deep: object = {"label": 1}
    for _ in range(40):
        deep = [deep]
    bodies = ({"id": "x", "filter": deep}, {"id": "x", "like": ["y" * 1000] * 9000},
              {"text": "a" * 9 * 2**20})
    statuses = []
    for body in bodies:
        case = search.Case(path_parameters={"collection": served.collection}, body=body, media_type="application/json")
        statuses.append(case.call_and_validate(excluded_checks=[positive_data_acceptance]).status_code)
    assert statuses == [400, 413, 413]
