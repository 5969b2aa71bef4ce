"""`embedkit serve`: the HTTP API and the search page over one store."""

from __future__ import annotations

import errno
import ipaddress
import socket
from pathlib import Path

import click

from embedkit.cli.options import NumberRange, StoreLocation, store_options
from embedkit.errors import InvalidOptionError
from embedkit.hookspecs import hookimpl


def check_port(host: str, port: int) -> None:
    """Fail in one line, before the store opens, when the address cannot be listened on."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        why = "is in use; pick another --port" if error.errno == errno.EADDRINUSE else f"cannot be used ({error.strerror})"
        raise InvalidOptionError(f"{host}:{port} {why}") from error


def exposed(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host != "localhost"


@click.command("serve")
@store_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 opens the server to the network (set --access-key then).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--access-key", envvar="EMBEDKIT_ACCESS_KEY", default=None,
              help="Clients must send this key (X-API-Key header or ?api_key=); also read from $EMBEDKIT_ACCESS_KEY.")
@click.option("--max-upload-mb", type=NumberRange(0.01, 1024), default=20, show_default=True,
              help="Largest image a client may upload.")
@click.option("--encoders", "max_encoders", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Query encoders kept loaded (least recently used goes first).")
@click.option("--query-batch", type=click.IntRange(1, 256), default=32, show_default=True,
              help="Concurrent searches by image or text an encoder embeds in one forward pass, at most.")
@click.option("--query-wait-ms", type=NumberRange(0, 1000), default=5, show_default=True,
              help="How long a batch waits for searches on their way (a lone search never waits).")
@click.option("--qdrant-api-port", type=click.IntRange(1, 65535), default=None,
              help="Serve Qdrant's REST API on this port of its own (default: under /qdrant of --port).")
@click.option("--qdrant-api-writes", is_flag=True,
              help="Let Qdrant's API write points and payloads (needs --access-key).")
@click.option("--results", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of `embedkit bench` results to show (repeatable; default: bench-results).")
def serve_command(store: StoreLocation, host: str, port: int, access_key: str | None, max_upload_mb: float,
                  max_encoders: int, query_batch: int, query_wait_ms: float, qdrant_api_port: int | None,
                  qdrant_api_writes: bool, results: tuple[Path, ...]) -> None:
    """Serve the search page and the HTTP API of a store.

    Open http://127.0.0.1:8000 for the page, /docs for the API. The server holds an embedded store while it
    runs; apps that need to write meanwhile use a Qdrant server (--qdrant URL)."""
    try:
        import uvicorn

        from embedkit.serve import ServeSettings, create_app
    except ImportError as error:
        raise InvalidOptionError(f'embedkit serve needs the serve extra ({error.name} is missing): '
                                 f'pip install "embedkit[serve]"') from error

    if exposed(host) and not access_key:
        click.echo(f"warning: listening on {host} without --access-key: anyone who reaches this port can search "
                   f"the store and read its images", err=True)
    if qdrant_api_writes and not access_key:
        raise InvalidOptionError("--qdrant-api-writes lets clients change the store: give --access-key KEY too")
    check_port(host, port)
    if qdrant_api_port == port:
        raise InvalidOptionError(f"--qdrant-api-port {port} is --port too; give Qdrant's API another port, or leave "
                                 f"it out to serve Qdrant's API under /qdrant")
    if qdrant_api_port is not None:
        check_port(host, qdrant_api_port)
    settings = ServeSettings(api_key=access_key or None, max_upload_bytes=int(max_upload_mb * 2**20),
                             max_encoders=max_encoders, results=results or (Path("bench-results"),),
                             query_batch=query_batch, query_wait_ms=query_wait_ms,
                             qdrant_api=qdrant_api_port is None, qdrant_api_writes=qdrant_api_writes)
    with store.open() as opened:
        opened.collections()  # an embedded store held by another process refuses here, in one line
        app = create_app(opened, settings)
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"serving {store.shown} on http://{shown}:{port} (API docs at /docs); Ctrl-C stops", err=True)
        if qdrant_api_port is None:
            uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
        else:
            from embedkit.serve.beside import serve_beside
            from embedkit.serve.qdrant_api import create_qdrant_app

            click.echo(f"Qdrant's REST API on http://{shown}:{qdrant_api_port}", err=True)
            serve_beside(uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5),
                         uvicorn.Config(create_qdrant_app(opened, settings), host=host, port=qdrant_api_port,
                                        log_level="warning", timeout_graceful_shutdown=5))


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(serve_command)
