"""The options every command that touches the store shares: where it is, and how to talk to it."""

from __future__ import annotations

import click

from embedkit.store import Store, open_store


def store_options(function):
    for option in reversed([
        click.option("--qdrant", default=None, envvar="EMBEDKIT_QDRANT",
                     help="Embedded store folder (default: embedkit's data dir) or a server http(s)://HOST:PORT."),
        click.option("--grpc", is_flag=True, envvar="EMBEDKIT_QDRANT_GRPC",
                     help="Talk gRPC to a Qdrant server instead of REST."),
    ]):
        function = option(function)
    return function


def open_cli_store(qdrant: str | None, grpc: bool) -> Store:
    return open_store(qdrant, grpc=grpc)
