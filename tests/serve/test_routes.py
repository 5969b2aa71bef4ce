"""Routes come through the `register_routes(router)` hook: the built-in API and a plugin's alike, behind the key."""

from __future__ import annotations

import logging

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from embedkit.hookspecs import hookimpl
from embedkit.plugins import BUILTIN_ROUTE_PLUGINS, plugin_manager
from embedkit.serve import ServeSettings, create_app
from embedkit.store import open_store


class Counting:
    """A plugin whose route answers from the server's own state: how many points a collection holds."""

    @hookimpl
    def register_routes(self, router):
        def points(request: Request, collection: str) -> dict:
            return {"points": request.app.state.server.store.count(collection)}

        router.add_api_route("/api/plugin/points/{collection}", points, methods=["GET"])


@pytest.fixture
def fresh_plugins():
    plugin_manager.cache_clear()
    yield plugin_manager()
    plugin_manager.cache_clear()


@pytest.fixture
def opened(served, fresh_plugins):
    with open_store(served.store) as store:
        yield store


def paths(app) -> set[str]:
    return set(app.openapi()["paths"])


def test_the_built_in_api_comes_through_the_hook(fresh_plugins, opened):
    app = create_app(opened)
    implementers = {impl.plugin_name for impl in fresh_plugins.hook.register_routes.get_hookimpls()}
    assert set(BUILTIN_ROUTE_PLUGINS) <= implementers
    assert {"/api/collections", "/api/collections/{collection}/search/image"} <= paths(app)


def test_a_plugin_route_reaches_the_server_state_behind_the_access_key(fresh_plugins, opened, served):
    fresh_plugins.register(Counting(), name="counting")
    client = TestClient(create_app(opened, ServeSettings(api_key="sesame")), base_url="http://localhost")
    assert client.get(f"/api/plugin/points/{served.collection}").status_code == 401
    answer = client.get(f"/api/plugin/points/{served.collection}", headers={"X-API-Key": "sesame"})
    assert answer.status_code == 200 and answer.json() == {"points": opened.count(served.collection)}
    assert "/api/plugin/points/{collection}" in client.get("/openapi.json", headers={"X-API-Key": "sesame"}).json()["paths"]


@pytest.mark.parametrize("headers", [{"api-key": "sesame"}, {"Authorization": "Bearer sesame"}])
def test_a_plugin_route_takes_the_key_every_way_the_guard_takes_it(fresh_plugins, opened, served, headers):
    fresh_plugins.register(Counting(), name="counting")
    client = TestClient(create_app(opened, ServeSettings(api_key="sesame")), base_url="http://localhost")
    assert client.get(f"/api/plugin/points/{served.collection}", headers=headers).status_code == 200


def test_a_plugin_whose_hook_fails_adds_no_route_and_the_api_still_loads(fresh_plugins, opened, caplog):
    class Broken:
        @hookimpl
        def register_routes(self, router):
            router.add_api_route("/api/half-done", lambda: {}, methods=["GET"])
            raise RuntimeError("no luck")

    fresh_plugins.register(Broken(), name="broken")
    with caplog.at_level(logging.WARNING, logger="embedkit.plugins"):
        app = create_app(opened)
    assert "/api/half-done" not in paths(app) and "/api/collections" in paths(app)
    assert "plugin 'broken' failed in register_routes: no luck" in caplog.text


def test_a_plugin_cannot_replace_a_built_in_route(fresh_plugins, opened, caplog):
    class Impostor:
        @hookimpl
        def register_routes(self, router):
            router.add_api_route("/api/collections", lambda: ["stolen"], methods=["GET"])

    fresh_plugins.register(Impostor(), name="impostor")
    with caplog.at_level(logging.WARNING, logger="embedkit.plugins"):
        client = TestClient(create_app(opened), base_url="http://localhost")
    assert client.get("/api/collections").json() != ["stolen"]
    assert ("plugin 'impostor' offers routes that are taken already (GET /api/collections); its routes are left out"
            in caplog.text)
