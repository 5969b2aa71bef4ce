"""`embedkit serve`: the HTTP API and the search page over one store."""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from embedkit.cli.options import NumberRange, StoreLocation, record_options, store_options
from embedkit.cli.signals import Terminated, terminate_as_interrupt
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


def read_key_file(path: Path) -> str:
    """The first line of `path`, refused in one line when the file is missing, not a regular file, or empty."""
    from embedkit.special_files import SpecialFileError, read_regular_text

    try:
        lines = read_regular_text(path).splitlines()  # a FIFO would block the read: refused before it
    except FileNotFoundError as error:
        raise InvalidOptionError(f"--access-key-file {path}: no such file; give a file that holds the key") from error
    except SpecialFileError as error:
        raise InvalidOptionError(f"--access-key-file {path}: {error.kind}, not a regular file; give a file that "
                                 f"holds the key") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidOptionError(f"--access-key-file {path} cannot be read ({error}); give a readable UTF-8 file") from error
    key = lines[0].strip() if lines else ""
    if not key:
        raise InvalidOptionError(f"--access-key-file {path} is empty; write the key on its first line")
    return key


def exposed(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host != "localhost"


@dataclass(frozen=True)
class ServerLimits:
    """How much the server takes at once: bodies, loaded encoders, searches batched together."""

    max_upload_mb: float
    max_json_mb: float
    max_encoders: int
    query_batch: int
    query_wait_ms: float


limit_options = record_options(ServerLimits, "limits", [
    click.option("--max-upload-mb", type=NumberRange(0.01, 1024), default=20, show_default=True,
                 help="Largest image a client may upload."),
    click.option("--max-json-mb", type=NumberRange(0.01, 1024), default=8, show_default=True,
                 help="Largest body that is not an upload (a JSON search)."),
    click.option("--encoders", "max_encoders", type=click.IntRange(1, 16), default=2, show_default=True,
                 help="Query encoders kept loaded (least recently used goes first)."),
    click.option("--query-batch", type=click.IntRange(1, 256), default=32, show_default=True,
                 help="Concurrent searches by image or text an encoder embeds in one forward pass, at most."),
    click.option("--query-wait-ms", type=NumberRange(0, 1000), default=5, show_default=True,
                 help="How long a batch waits for searches on their way (a lone search never waits)."),
])


@click.command("serve")
@store_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 opens the server to the network (set --access-key then).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Another name clients may reach the server by (its Host header; repeatable; * for any). "
                   "The address listened on and localhost always work.")
@click.option("--access-key", envvar="EMBEDKIT_ACCESS_KEY", default=None,
              help="Clients must send this key (X-API-Key header or ?api_key=). Other users see it in `ps`: "
                   "prefer $EMBEDKIT_ACCESS_KEY or --access-key-file.")
@click.option("--access-key-file", type=click.Path(path_type=Path), default=None,
              help="Read the access key from this file (its first line).")
@limit_options
@click.option("--qdrant-api-port", type=click.IntRange(1, 65535), default=None,
              help="Serve Qdrant's REST API on this port of its own (default: under /qdrant of --port).")
@click.option("--qdrant-api-writes", is_flag=True,
              help="Let Qdrant's API write points and payloads (needs --access-key).")
@click.option("--results", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of `embedkit bench` results to show (repeatable; default: bench-results).")
def serve_command(store: StoreLocation, host: str, port: int, allow_hosts: tuple[str, ...], access_key: str | None,
                  access_key_file: Path | None, limits: ServerLimits, qdrant_api_port: int | None,
                  qdrant_api_writes: bool, results: tuple[Path, ...]) -> None:
    """Serve the search page and the HTTP API of a store.

    Open http://127.0.0.1:8000 for the page, /docs for the API. The server holds an embedded store while it
    runs; apps that need to write meanwhile use a Qdrant server (--qdrant URL)."""
    try:
        import uvicorn  # noqa: F401

        from embedkit.serve import ServeSettings, create_app
        from embedkit.serve.running import serve_until_stopped, stuck_threads
        from embedkit.serve.settings import LOOPBACK_HOSTS
    except ImportError as error:
        raise InvalidOptionError(f'embedkit serve needs the serve extra ({error.name} is missing): '
                                 f'pip install "embedkit[serve]"') from error

    if access_key_file is not None:
        source = click.get_current_context().get_parameter_source("access_key")
        if access_key and source == click.core.ParameterSource.COMMANDLINE:
            raise InvalidOptionError("give the access key one way: --access-key or --access-key-file, not both")
        access_key = read_key_file(access_key_file)
    if exposed(host) and not access_key:
        click.echo(f"warning: listening on {host} without --access-key: anyone who reaches this port can search "
                   f"the store and read its images", err=True)
    wildcard = host in ("0.0.0.0", "::")
    if wildcard and not allow_hosts:
        click.echo("note: clients that reach this server by a name (not an IP address or localhost) need "
                   "--allow-host NAME", err=True)
    if qdrant_api_writes and not access_key:
        raise InvalidOptionError("--qdrant-api-writes lets clients change the store: give --access-key KEY too")
    check_port(host, port)
    if qdrant_api_port == port:
        raise InvalidOptionError(f"--qdrant-api-port {port} is --port too; give Qdrant's API another port, or leave "
                                 f"it out to serve Qdrant's API under /qdrant")
    if qdrant_api_port is not None:
        check_port(host, qdrant_api_port)
    settings = ServeSettings(api_key=access_key or None, max_upload_bytes=int(limits.max_upload_mb * 2**20),
                             max_json_bytes=int(limits.max_json_mb * 2**20), any_address=wildcard,
                             allowed_hosts=(*LOOPBACK_HOSTS, *(() if wildcard else (host,)), *allow_hosts),
                             max_encoders=limits.max_encoders, results=results or (Path("bench-results"),),
                             query_batch=limits.query_batch, query_wait_ms=limits.query_wait_ms,
                             qdrant_api=qdrant_api_port is None, qdrant_api_writes=qdrant_api_writes)
    try:
        with terminate_as_interrupt(), store.open() as opened:  # SIGTERM too closes the store and exits 143
            opened.collections()  # an embedded store held by another process refuses here, in one line
            app = create_app(opened, settings)
            shown = f"[{host}]" if ":" in host else host
            click.echo(f"serving {store.shown} on http://{shown}:{port} (API docs at /docs); Ctrl-C stops", err=True)
            beside = None
            if qdrant_api_port is not None:
                from embedkit.serve.qdrant_api import create_qdrant_app

                click.echo(f"Qdrant's REST API on http://{shown}:{qdrant_api_port}", err=True)
                beside = (create_qdrant_app(opened, settings, guarded=True), qdrant_api_port)
            serve_until_stopped(app, host, port, beside)
    except KeyboardInterrupt as stopped:
        if stuck := stuck_threads():  # Python would wait for them at exit, for ever if a read never ends
            click.echo(f"stopped; {len(stuck)} request(s) still running were dropped", err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signal.SIGTERM if isinstance(stopped, Terminated) else 130)
        raise


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(serve_command)
