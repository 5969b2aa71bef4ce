"""A map drawn as a PNG: the asked size, the points, a legend or a note, and thumbnails at their points."""

from __future__ import annotations

import numpy as np
from PIL import Image

from embedkit.analysis.maps import VectorMap, map_collection
from embedkit.drawing.maps import MAX_LEGEND, draw_map, save_png


def test_the_png_is_an_image_of_the_asked_size_with_the_points_drawn(ingested, tmp_path):
    vector_map = map_collection(ingested[0], "shapes")
    path = save_png(vector_map, tmp_path / "map.png", width=640, height=480)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (640, 480)
        colours = image.convert("RGB").getcolors(maxcolors=640 * 480)
    assert len(colours) > 20  # points, legend and text, not a blank canvas
    assert draw_map(vector_map).axes[0].get_legend() is not None


def test_thumbnails_are_found_from_the_payload_source_and_drawn_on_the_png(ingested, tmp_path):
    vector_map = map_collection(ingested[0], "shapes", thumbnails=10)
    assert len(vector_map.thumbnails) == 10
    assert all(max(image.size) == 64 for image in vector_map.thumbnails.values())
    plain = np.asarray(Image.open(save_png(vector_map, tmp_path / "plain.png")))
    drawn = np.asarray(Image.open(save_png(vector_map, tmp_path / "thumbs.png", thumbnails=5)))
    assert plain.shape == drawn.shape and (plain != drawn).any(axis=-1).mean() > 0.005


def test_more_groups_than_a_legend_holds_get_a_note_instead(tmp_path):
    count = MAX_LEGEND + 5
    rng = np.random.default_rng(0)
    vector_map = VectorMap(collection="many", vector_name="enc", method="pca", params={}, colour="label",
                           ids=[f"s{i}" for i in range(100)], xy=rng.normal(size=(100, 2)),
                           groups=[f"class {g}" for g in range(count)], group_of=np.arange(100) % count,
                           labels=["x"] * 100)
    figure = draw_map(vector_map, width=800, height=600)
    assert figure.axes[0].get_legend() is None
    assert "too many for a legend" in figure.axes[0].get_title(loc="left")
    with Image.open(save_png(vector_map, tmp_path / "many.png", width=800, height=600)) as image:
        assert image.size == (800, 600)


def test_a_point_without_a_value_does_not_switch_ten_groups_to_light_and_dark_pairs():
    from matplotlib import colormaps

    from embedkit.drawing.maps import FAINT, group_colours

    colours = group_colours([str(i) for i in range(10)] + ["(none)"])
    assert colours[:10] == [colormaps["tab10"](i)[:3] for i in range(10)] and colours[10] == FAINT
    assert group_colours(["0", "noise", "1"]) == [colormaps["tab10"](0)[:3], FAINT, colormaps["tab10"](1)[:3]]
