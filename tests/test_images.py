"""Images are read as a person sees them: orientation, bit depth, transparency, animation, size, formats."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from embedkit.errors import ImageLoadError, InvalidOptionError
from embedkit.images import MAX_PIXELS_ENV, ImageBytes, ReadOptions, load_image, register_optional_formats


@pytest.fixture
def scene(photos) -> Image.Image:
    """A real photo, small and not square, so that a rotation shows."""
    return photos["astronaut"].resize((96, 64))


def test_exif_orientation_is_applied(scene, tmp_path):
    stored_sideways = scene.transpose(Image.Transpose.ROTATE_90)  # what a phone writes, with "rotate 270 CW"
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the viewer rotates 90 degrees clockwise
    path = tmp_path / "phone.jpg"
    stored_sideways.save(path, quality=98, exif=exif)
    shown = load_image(path)
    assert shown.size == scene.size
    assert np.abs(np.asarray(shown, dtype=np.int16) - np.asarray(scene, dtype=np.int16)).mean() < 6


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (8, 1))
    path = tmp_path / "depth.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = np.asarray(load_image(path))[..., 0]
    np.testing.assert_allclose(pixels[0], np.rint(ramp[0] / 257), atol=1)
    assert pixels.min() == 0 and pixels.max() == 255


@pytest.mark.parametrize("bits", [10, 12, 14])
def test_fewer_bits_stored_in_a_16_bit_file_are_scaled_by_their_own_depth(tmp_path, bits):
    top = 2**bits - 1
    ramp = np.tile(np.linspace(0, top, 64).astype(np.uint16), (8, 1))  # 12-bit scanner data in a 16-bit PNG
    path = tmp_path / "scan.png"
    Image.fromarray(ramp).save(path)
    pixels = np.asarray(load_image(path))[..., 0]
    np.testing.assert_allclose(pixels[0], np.rint(ramp[0].astype(np.float64) * 255 / top), atol=1)
    assert pixels.max() == 255


def test_a_16_bit_image_with_a_transparent_grey_value_is_composited(tmp_path):
    pixels = np.full((8, 8), 40000, dtype=np.uint16)
    pixels[:, :4] = 123  # the value the PNG's tRNS chunk marks transparent
    path = tmp_path / "cut.png"
    Image.fromarray(pixels).save(path, transparency=123)
    assert Image.open(path).info.get("transparency") == 123
    on_black = np.asarray(load_image(path, ReadOptions(background=(0, 0, 0))))
    on_white = np.asarray(load_image(path))
    assert (on_black[:, :4] == 0).all() and (on_white[:, :4] == 255).all()
    np.testing.assert_array_equal(on_black[:, 4:], on_white[:, 4:])
    assert on_white[0, 5].tolist() == [round(40000 * 255 / 65535)] * 3


def test_32_bit_float_images_use_their_range():
    values = np.linspace(0.0, 1.0, 16, dtype=np.float32).reshape(4, 4)
    pixels = np.asarray(load_image(Image.fromarray(values, "F")))[..., 0]
    assert pixels.min() == 0 and pixels.max() == 255


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_pixels_show_the_background_whatever_colour_hides_under_them(tmp_path, mode):
    looks = []
    for hidden in ((0, 200, 0), (255, 255, 255)):
        image = Image.new("RGBA", (16, 16), (*hidden, 0))
        image.paste((200, 0, 0, 255), (4, 4, 12, 12))
        if mode == "LA":
            image = image.convert("LA")
        elif mode == "P":
            image = image.convert("P", palette=Image.Palette.ADAPTIVE)
            image.info["transparency"] = image.getpixel((0, 0))
        path = tmp_path / f"{mode}-{hidden[1]}.png"
        image.save(path, **({"transparency": image.info["transparency"]} if mode == "P" else {}))
        looks.append(np.asarray(load_image(path)))
    np.testing.assert_array_equal(looks[0], looks[1])
    assert tuple(looks[0][0, 0]) == (255, 255, 255)
    black = load_image(tmp_path / f"{mode}-200.png", ReadOptions.from_environment("black"))
    assert tuple(np.asarray(black)[0, 0]) == (0, 0, 0)


def test_an_animated_image_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "blink.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(path).n_frames == 2
    assert tuple(np.asarray(load_image(path))[4, 4]) == (255, 0, 0)


def test_a_huge_image_is_refused_with_the_knob_that_allows_it(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    Image.new("L", (400, 300)).save(path)
    monkeypatch.setenv(MAX_PIXELS_ENV, "100000")
    with pytest.raises(ImageLoadError, match=rf"400 x 300 .*decompression bombs.*{MAX_PIXELS_ENV}=120000"):
        load_image(path)
    monkeypatch.setenv(MAX_PIXELS_ENV, "120000")
    assert load_image(path).size == (400, 300)
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(InvalidOptionError, match="is not a number of pixels"):
        load_image(path)


def test_pils_own_bomb_limit_is_left_as_it_was(tmp_path):
    path = tmp_path / "small.png"
    Image.new("L", (8, 8)).save(path)
    before = Image.MAX_IMAGE_PIXELS
    load_image(path)
    assert Image.MAX_IMAGE_PIXELS == before


def test_an_empty_file_says_so(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="is empty"):
        load_image(path)


def test_heic_is_read_with_the_extra_and_named_without_it(scene, tmp_path, monkeypatch):
    pytest.importorskip("pillow_heif")
    register_optional_formats()
    path = tmp_path / "phone.heic"
    scene.save(path, format="HEIF", quality=95)
    shown = load_image(path)
    assert shown.size == scene.size
    assert np.abs(np.asarray(shown, dtype=np.int16) - np.asarray(scene, dtype=np.int16)).mean() < 12
    # without the extra: PIL cannot identify it, and the message names the extra
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    monkeypatch.setattr(Image, "ID", [name for name in Image.ID if name != "HEIF"])
    monkeypatch.delitem(Image.OPEN, "HEIF")
    register_optional_formats.cache_clear()
    try:
        with pytest.raises(ImageLoadError, match=r"HEIC/HEIF image; install .*embedkit\[heif\]"):
            load_image(path)
    finally:
        register_optional_formats.cache_clear()


def test_the_same_rules_hold_for_dataset_samples(tmp_path):
    from embedkit.datasets import get_dataset

    folder = tmp_path / "cutouts" / "red"
    folder.mkdir(parents=True)
    for hidden in ("green", "white"):
        image = Image.new("RGBA", (8, 8), (0, 200, 0, 0) if hidden == "green" else (255, 255, 255, 0))
        image.paste((200, 0, 0, 255), (2, 2, 6, 6))
        image.save(folder / f"{hidden}.png")
    view = get_dataset(f"folder:{tmp_path / 'cutouts'}").view()
    first, second = (np.asarray(view[i].image()) for i in range(2))
    np.testing.assert_array_equal(first, second)


def test_the_command_line_says_it_in_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from embedkit.cli import main

    path = tmp_path / "wide.png"
    Image.new("L", (400, 300)).save(path)
    monkeypatch.setenv(MAX_PIXELS_ENV, "100000")
    result = CliRunner().invoke(main, ["embed", str(path), "-e", "mobilenet_v2.random"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and "decompression bombs" in result.stderr


def test_a_big_jpeg_is_decoded_at_a_reduced_scale_that_still_covers_the_input(photos, tmp_path):
    from embedkit.encoders import get_encoder

    path = tmp_path / "big.jpg"
    photos["cat"].resize((2048, 1536), Image.Resampling.LANCZOS).save(path, quality=92)
    encoder = get_encoder("efficientnet-lite0", device="cpu")
    reduced = load_image(path, ReadOptions(draft_size=encoder.input_size))
    assert reduced.size == (512, 384)  # a quarter: an eighth (256 x 192) would not cover 224 px
    full = load_image(path)
    assert full.size == (2048, 1536)
    similarity = float((encoder.encode_images([reduced]) @ encoder.encode_images([full]).T)[0, 0])
    assert 0.97 < similarity < 1.0  # the same picture to the encoder, from a sixteenth of the pixels


def test_the_bomb_limit_holds_and_is_restored_under_threads(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "small.png"
    Image.new("L", (64, 64)).save(path)
    monkeypatch.setenv(MAX_PIXELS_ENV, "500000000")  # above twice PIL's own: the swap path
    before = Image.MAX_IMAGE_PIXELS
    with ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(lambda _: load_image(path).size, range(64)))
    assert sizes == [(64, 64)] * 64 and Image.MAX_IMAGE_PIXELS == before


def test_odd_modes_and_settings_give_one_line_errors_or_the_right_pixels(monkeypatch):
    eight_bit = Image.fromarray(np.array([[0, 128, 255]], dtype=np.int32))
    assert np.asarray(load_image(eight_bit))[0, :, 0].tolist() == [0, 128, 255]
    with pytest.raises(ImageLoadError, match="mode La cannot be shown as RGB"):
        load_image(Image.new("La", (4, 4)))
    for value in ("inf", "-1"):
        monkeypatch.setenv(MAX_PIXELS_ENV, value)
        with pytest.raises(InvalidOptionError, match=MAX_PIXELS_ENV):
            load_image(eight_bit)


def test_image_bytes_in_memory_follow_the_same_rules_as_files(scene, tmp_path):
    """A tar member or a Parquet cell (ImageBytes) is read as its file would be: orientation, 16 bits, alpha."""
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    scene.save(rotated, exif=exif)
    deep = tmp_path / "deep.png"
    Image.fromarray(np.array([[0, 1000], [4095, 2048]], dtype=np.uint16)).save(deep)
    clear = tmp_path / "clear.png"
    Image.new("RGBA", (3, 2), (10, 20, 30, 0)).save(clear)
    for file in (rotated, deep, clear):
        from_bytes = load_image(ImageBytes(file.read_bytes(), f"shard.tar::{file.stem}"))
        assert np.array_equal(np.asarray(from_bytes), np.asarray(load_image(file)))
    assert load_image(ImageBytes(rotated.read_bytes(), "r")).size == (scene.height, scene.width)  # turned upright
    assert load_image(ImageBytes(clear.read_bytes(), "c")).getpixel((0, 0)) == (255, 255, 255)  # on white
    with pytest.raises(ImageLoadError, match="'shard.tar::junk' is not an image file"):
        load_image(ImageBytes(b"not an image at all", "shard.tar::junk"))
