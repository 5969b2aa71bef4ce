"""Downloading a published file: resumable, retried, checksum-verified, written atomically."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from embedkit.errors import ChecksumError, DatasetUnavailableError, InvalidOptionError

log = logging.getLogger(__name__)

Progress = Callable[[str, int, "int | None"], None]
"""Called as `progress(filename, bytes_done, bytes_total_or_None)` while a file downloads."""

CHUNK = 1 << 16
BACKOFF = 1.0
"""Seconds to wait before the first retry; the n-th waits n times as long."""


@dataclass(frozen=True)
class Resource:
    """A file as its publisher serves it: name, published MD5, and the official URLs (mirrors) in order."""

    filename: str
    md5: str
    urls: tuple[str, ...]

    def locations(self, mirror: str | None = None, folder: str = "") -> tuple[str, ...]:
        """The official URLs, or the file's URL on `mirror`, which keeps each dataset in a `folder` of its own."""
        if not mirror:
            return self.urls
        return ("/".join(part.strip("/") for part in (mirror, folder, self.filename) if part),)


def check_mirror(mirror: object) -> str:
    """A mirror as a base URL (`-O mirror=...` may have made it a number); InvalidOptionError when it is none."""
    text = str(mirror)
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 (a port out of range raises here)
    except ValueError as error:
        raise InvalidOptionError(f"mirror {text!r} is not a URL ({error}); give a base URL such as "
                                 f"https://host/datasets") from error
    if parts.scheme not in ("http", "https", "ftp", "file") or not (parts.netloc or parts.scheme == "file"):
        raise InvalidOptionError(f"mirror {text!r} is not a URL; give a base URL such as https://host/datasets "
                                 f"(--mirror, -O mirror=URL or $EMBEDKIT_DATASETS_MIRROR)")
    return text


def file_md5(path: str | os.PathLike[str]) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, resource: Resource) -> None:
    """ChecksumError when `path` is not the published file (the file is left where it is)."""
    actual = file_md5(path)
    if actual != resource.md5:
        raise ChecksumError(
            f"{path} has MD5 {actual}, not the published {resource.md5} of {resource.filename}; "
            f"remove it and download it again"
        )


def fetch(
    resource: Resource,
    folder: str | os.PathLike[str],
    *,
    mirror: str | None = None,
    mirror_folder: str = "",
    progress: Progress | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float | None = None,
) -> Path:
    """Download `resource` into `folder` and return its path.

    The bytes go to `NAME.part`; a dropped connection is retried up to `retries` times, resuming
    from the bytes already there (HTTP Range); the finished file is checked against the published
    MD5 and only then renamed to NAME. A mismatch deletes it and raises ChecksumError. With
    `mirror`, the file is fetched from MIRROR/MIRROR_FOLDER/NAME instead of the official URLs.
    """
    mirror = check_mirror(mirror) if mirror else None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / resource.filename
    partial = folder / f"{resource.filename}.part"
    failures: list[str] = []
    for url in resource.locations(mirror, mirror_folder):
        for attempt in range(retries + 1):
            if attempt:
                time.sleep((BACKOFF if backoff is None else backoff) * attempt)
            try:
                complete = _transfer(url, partial, resource.filename, progress, timeout)
            except urllib.error.HTTPError as error:
                failures.append(f"{url}: HTTP {error.code} {error.reason}")
                if error.code in (404, 403, 410):
                    break
                continue
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                failures.append(f"{url}: {getattr(error, 'reason', error)}")
                continue
            if not complete:
                done = partial.stat().st_size if partial.exists() else 0
                log.info("transfer of %s stopped at %d bytes; resuming", resource.filename, done)
                failures.append(f"{url}: connection closed after {done} bytes")
                continue
            actual = file_md5(partial)
            if actual != resource.md5:
                partial.unlink()
                raise ChecksumError(
                    f"downloaded {resource.filename} from {url} has MD5 {actual}, not the published "
                    f"{resource.md5}; the file was removed: try again, or check the mirror"
                )
            os.replace(partial, target)
            log.info("downloaded %s to %s", resource.filename, target)
            return target
    reasons = "; ".join(failures[-3:])
    raise DatasetUnavailableError(
        f"could not download {resource.filename} ({reasons}); put the file in {folder} yourself, "
        f"or set EMBEDKIT_DATASETS_MIRROR to a server that has it"
    )


def _transfer(url: str, partial: Path, filename: str, progress: Progress | None, timeout: float) -> bool:
    """Append the rest of `url` to `partial`; True when the whole file has arrived."""
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "embedkit"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http(s) URLs only)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left to send: the partial file may be whole
            return True
        raise
    with response:
        if have and response.status != 206:  # the server ignored the Range header: start again
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        log.info("downloading %s from %s%s", filename, url, f" (resuming at {have} bytes)" if have else "")
        done = have
        with open(partial, "ab" if have else "wb") as stream:
            while chunk := response.read(CHUNK):
                stream.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(filename, done, total)
    return total is None or done >= total

