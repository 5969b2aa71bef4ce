"""The pictures of docs/serve.md: the search page of `embedkit serve` in Chromium, after a search by an uploaded
image, and its map.

    .venv/bin/python examples/serve_screenshots.py --qdrant STORE   # a store with Fashion-MNIST test embedded

Needs Debian's chromium (`./dev test` installs it) and Playwright for Python (the test extra).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.serve.running import running_server  # noqa: E402

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qdrant", type=Path, required=True)
    parser.add_argument("--query", default="fashion-mnist/test/00000", help="The sample whose image is uploaded.")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    with running_server(args.qdrant) as url, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
        page.goto(url)
        page.wait_for_selector("#label option >> nth=1", state="attached")
        query = Path(tempfile.mkdtemp()) / "query.png"
        response = page.request.get(f"{url}/api/collections/fashion-mnist/image", params={"id": args.query})
        query.write_bytes(response.body())
        page.fill("#k", "18")
        page.set_input_files("#file", str(query))
        page.wait_for_selector("#grid[data-state=done] .card")
        page.wait_for_function("() => [...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth)")
        page.locator("#grid .card .like").nth(1).click()
        page.screenshot(path=str(args.out / "serve-search.png"))
        page.click("[data-tab=map]")
        page.wait_for_function("() => document.querySelector('#status').textContent.startsWith('Map of')")
        page.locator("#map-canvas").evaluate("canvas => canvas.scrollIntoView()")
        box = page.locator("#map-canvas").bounding_box()
        point = page.evaluate("() => state.mapXY[Math.floor(state.mapXY.length / 3)]")
        page.mouse.move(box["x"] + point[0], box["y"] + point[1])
        page.wait_for_selector("#map-tip:not([hidden]) img")
        page.wait_for_timeout(300)
        page.screenshot(path=str(args.out / "serve-map.png"))
        browser.close()
    print(f"wrote {args.out / 'serve-search.png'} and {args.out / 'serve-map.png'}")


if __name__ == "__main__":
    main()
