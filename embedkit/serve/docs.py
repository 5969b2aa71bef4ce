"""The API's interactive docs at /docs: Swagger UI from assets installed with the serve extra (the
fastapi-offline package ships them), so that /docs works offline and under the page's CSP."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")


def swagger_assets() -> Path | None:
    """The folder holding Swagger UI's script and style, or None when the package that ships them is missing."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if all((folder / name).is_file() for name in ASSETS) else None


def add_docs(app: FastAPI) -> bool:
    """Serve /docs from local assets; False (and no /docs) when they are not installed."""
    folder = swagger_assets()
    if folder is None:
        return False

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return FileResponse(STATIC / "docs.html")

    app.mount("/docs/assets", StaticFiles(directory=folder), name="docs-assets")
    return True
