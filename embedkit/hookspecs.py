"""The hooks a plugin implements. Built-in encoders, datasets, store backends and commands use exactly these."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click
    from fastapi import APIRouter

hookspec = pluggy.HookspecMarker("embedkit")
hookimpl = pluggy.HookimplMarker("embedkit")


@hookspec
def register_encoders(register: Callable[..., None]) -> None:
    """Call `register(name, factory, aliases=(...), **info)` for each encoder the plugin provides.

    `name` is `architecture.weights_tag` (`resnet50.imagenet1k_v2`), or a family prefix ending in
    ':' (`clip:`) whose factory takes the text after the colon as its first argument.
    `factory(**options)` returns an `embedkit.Encoder`. `info` describes the encoder without
    building it: `dim`, `modality`, `weights`, `weights_available` (a callable), `description`.
    """


@hookspec
def register_datasets(register: Callable[..., None]) -> None:
    """Call `register(name, factory, aliases=(...), **info)` for each dataset the plugin provides."""


@hookspec
def register_stores(register: Callable[..., None]) -> None:
    """Call `register(name, factory, locations=..., capabilities=..., **opens)` for each store backend the plugin
    provides (FiftyOne Brain's similarity backends are the model; docs/plugins.md has an example).

    `factory(location, *, grpc, api_key, collection_options)` opens the location string and returns an
    `embedkit.store.Store` whose `capabilities` are the `embedkit.store.StoreCapabilities` registered here.
    Which locations the backend opens: `schemes=("s3", ...)`, URLs `SCHEME://...`; `opens=callable`, the other
    locations for which `opens(location)` is true (the built-in `:memory:` and `local:PATH`); `folders=True`, a
    plain folder (the built-in Qdrant Edge backend only). `locations` says how they are written, for messages
    ("a Qdrant server http(s)://HOST:PORT"); `description` says what the backend is.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Call `cli.add_command(command)` for each click command or group the plugin adds to `embedkit`.

    `cli` is the root `embedkit` group. The built-in commands are added first; a command whose
    name is taken already is logged and left out.
    """


@hookspec
def register_routes(router: APIRouter) -> None:
    """Add HTTP routes to `embedkit serve` with `router.add_api_route(...)` or `router.include_router(...)`.

    `router` is a FastAPI APIRouter that the server mounts behind its access key; the built-in API is added
    first, through this same hook. A route handler reaches the server's store, settings and loaded encoders as
    `request.app.state.server` (an `embedkit.serve.state.ServerState`). A path and method that are taken
    already keep their first route; the plugin's is logged and left out.
    """
