"""The search page in a real browser (Debian's Chromium driven by Playwright) against `embedkit serve`."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.serve.running import running_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (./dev test installs it)")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def server(served, tmp_path_factory):
    store = Path(shutil.copytree(served.store, tmp_path_factory.mktemp("page") / "store"))
    with running_server(store, "--results", str(served.results)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    outside = []
    opened.on("request", lambda request: outside.append(request.url) if not request.url.startswith(server) else None)
    opened.goto(server)
    opened.wait_for_selector("#label option >> nth=1", state="attached")  # collections and their labels loaded
    yield opened
    context.close()
    assert not outside, f"the page asked for addresses outside its server: {outside}"


def results(page) -> list[tuple[str, str]]:
    """(sample id, label) of each result card, once the search has finished."""
    page.wait_for_selector("#grid[data-state=done] .card")
    cards = page.locator("#grid .card:not(.query-card)")
    return [(cards.nth(i).get_attribute("data-sample-id"), cards.nth(i).locator(".label").inner_text())
            for i in range(cards.count())]


def test_an_uploaded_image_shows_its_neighbours_in_the_grid(page, served, tmp_path):
    pixels = np.clip(np.array([200, 40, 40]) + np.random.default_rng(3).normal(0, 30, (40, 40, 3)), 0, 255)
    Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "a-red-photo.png")
    page.fill("#k", "8")
    page.set_input_files("#file", str(tmp_path / "a-red-photo.png"))
    found = results(page)
    assert [label for _, label in found] == ["red"] * 8
    assert page.locator("#query-image").is_visible()
    assert "8 results for the image a-red-photo.png" in page.inner_text("#status")
    thumbnail = page.locator("#grid .card img").first
    thumbnail.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())


def test_clicking_a_result_searches_from_it(page, served):
    page.fill("#text", "a green field")
    page.click("#text-form button")
    first_id, first_label = results(page)[0]
    assert first_label == "green"
    page.evaluate("() => { document.querySelector('#grid').dataset.state = 'loading'; }")
    page.locator(f"#grid .card[data-sample-id='{first_id}'] .thumb").click()
    found = results(page)
    assert page.locator("#grid .query-card").get_attribute("data-sample-id") == first_id
    assert first_id not in [sample for sample, _ in found]
    assert [label for _, label in found[:5]] == ["green"] * 5


def test_the_label_filter_and_liked_examples_steer_the_results(page, served):
    page.select_option("#label", label="blue (12)")
    page.fill("#k", "30")
    page.fill("#text", "a red square")
    page.click("#text-form button")
    found = results(page)
    assert {label for _, label in found} == {"blue"} and len(found) == 12
    page.select_option("#label", value="")
    page.locator("#grid .card .like").first.click()
    page.evaluate("() => { document.querySelector('#grid').dataset.state = 'loading'; }")
    page.click("#search-examples")
    liked = results(page)
    assert [label for _, label in liked[:5]] == ["blue"] * 5


def test_a_file_that_is_not_an_image_gets_its_reason_on_the_page(page, tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    page.set_input_files("#file", str(tmp_path / "notes.png"))
    page.wait_for_selector("#status.error")
    assert "'notes.png' is not an image file" in page.inner_text("#status")


def test_the_map_shows_every_point_and_a_click_searches_from_one(page, served):
    page.click("[data-tab=map]")
    page.wait_for_function("() => document.querySelector('#status').textContent.startsWith('Map of 36 of 36')")
    legend = page.inner_text("#map-legend")
    assert all(colour in legend for colour in ("red", "green", "blue"))
    page.locator("#map-canvas").evaluate("canvas => canvas.scrollIntoView()")
    box = page.locator("#map-canvas").bounding_box()
    x, y = box["x"], box["y"]
    point = page.evaluate("() => state.mapXY[0]")
    page.mouse.move(x + point[0], y + point[1])
    page.wait_for_selector("#map-tip:not([hidden]) img")
    page.mouse.click(x + point[0], y + point[1])
    assert len(results(page)) == 24
    assert page.locator("#results").is_visible()


def test_the_bench_tab_lists_the_collections_results(page, served):
    page.click("[data-tab=bench]")
    page.wait_for_selector("#bench-table table")
    header = page.inner_text("#bench-table thead")
    assert "map@5" in header and "pixels-8px" in page.inner_text("#bench-table tbody")
    assert "protocol" in header and "leave-one-out" in page.inner_text("#bench-table tbody")


def test_the_api_docs_render_every_operation_offline_under_the_pages_policy(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    docs = context.new_page()
    outside, errors = [], []
    docs.on("request", lambda request: outside.append(request.url) if not request.url.startswith(server) else None)
    docs.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    docs.goto(f"{server}/docs")
    docs.wait_for_selector(".opblock-summary-path")
    paths = {text.replace("\u200b", "") for text in docs.locator(".opblock-summary-path").all_inner_texts()}
    context.close()
    assert {"/api/health", "/api/collections", "/api/collections/{collection}/search",
            "/api/collections/{collection}/search/image", "/api/collections/{collection}/image"} <= paths
    assert not outside and not errors, (outside, errors)


def test_the_browse_tab_pages_through_a_filter_with_no_query(page, served):
    page.fill("#k", "5")
    page.select_option("#label", label="red (12)")
    page.click("[data-tab=browse]")
    page.wait_for_function("() => document.querySelectorAll('#browse-grid .card').length === 5")
    assert page.inner_text("#browse-count").startswith("5 of 12 points")
    page.click("#browse-more")
    page.wait_for_function("() => document.querySelectorAll('#browse-grid .card').length === 10")
    page.click("#browse-more")
    page.wait_for_function("() => document.querySelectorAll('#browse-grid .card').length === 12")
    labels = page.locator("#browse-grid .card .label").all_inner_texts()
    ids = [card.get_attribute("data-sample-id") for card in page.locator("#browse-grid .card").all()]
    assert labels == ["red"] * 12 and len(set(ids)) == 12
    assert page.locator("#browse-more").is_hidden()
    page.select_option("#label", value="")
    page.fill("#browse-field", "split=test")
    page.click("#browse-form button")
    page.wait_for_function("() => document.querySelector('#browse-count').textContent.startsWith('5 of 18 points')")


def test_the_text_search_button_is_disabled_when_no_vector_embeds_text_and_no_empty_examples_bar_shows(page):
    assert page.locator("#examples").is_hidden()  # its display: flex once overrode the hidden attribute
    page.evaluate("() => { state.collections.forEach(c => c.vectors.forEach(v => { v.embeds_text = false; })); "
                  "updateTextAvailability(); }")
    assert page.locator("#text-form button").is_disabled() and page.locator("#text").is_disabled()
