"""The encoder contract as a kit: the promises every embedkit encoder keeps, checked on yours.

    from embedkit import get_encoder
    from embedkit.testing import check_encoder

    check_encoder(get_encoder("tiny_cnn.random", device="cpu"))  # ContractError names the broken promise

or, in a pytest module, each promise as a test of its own:

    from embedkit.testing import EncoderContract

    @pytest.fixture(scope="module", params=["tiny_cnn.v1", "tiny_cnn.random"])
    def encoder(request):
        return get_encoder(request.param, device="cpu")

    class TestTinyCnn(EncoderContract):
        pass

A check returns None when the promise holds and a reason (a str) when it does not apply to this
encoder (a text check on an image encoder); it raises ContractError when the promise is broken.
embedkit's own encoders are held to the same checks (tests/encoders/test_contract.py).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from embedkit.encoders import Encoder, encoder_entry, entry_record
from embedkit.encoders.names import split_checkpoint
from embedkit.errors import EmbedkitError, ImagesNotSupportedError, InvalidOptionError, TextNotSupportedError
from embedkit.records import VectorRecord

TEXTS = ("a photo of a cat", "a cup of coffee", "an astronaut", "", "a rocket on its launch pad")
"""What the text checks embed; the empty text is on purpose."""

Outcome = str | None
"""None: the promise holds; a str: why the check does not apply to this encoder."""


class ContractError(AssertionError):
    """An encoder broke a promise of the encoder contract; the message names the encoder and the promise."""


def sample_images() -> list[Image.Image]:
    """Five RGB images of different sizes and content, the same on every run: no files, no downloads."""
    rng = np.random.default_rng(0)
    images = []
    for index, (width, height) in enumerate(((320, 240), (240, 320), (96, 96), (500, 140), (64, 200))):
        y, x = np.mgrid[0:height, 0:width]
        ramps = np.stack([x / width, y / height, ((x + y) % 48) / 48], axis=-1)
        pixels = (np.roll(ramps, index, axis=-1) * 0.7 + rng.random((height, width, 3)) * 0.3) * 255
        image = Image.fromarray(pixels.astype(np.uint8))
        box = (width // 5, height // 4, width // 5 + min(width, height) // 2, height // 4 + min(width, height) // 2)
        ImageDraw.Draw(image).ellipse(box, fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        images.append(image)
    return images


def _fail(encoder: Encoder, promise: str) -> ContractError:
    return ContractError(f"encoder {encoder.name}: {promise}")


def _check_rows(encoder: Encoder, vectors: Any, count: int, call: str) -> None:
    if not isinstance(vectors, np.ndarray) or vectors.dtype != np.float32:
        raise _fail(encoder, f"{call} returned {type(vectors).__name__} of {getattr(vectors, 'dtype', '?')}, not a "
                             f"float32 numpy array; leave the conversion to Encoder (do not override {call})")
    if vectors.shape != (count, encoder.dim):
        raise _fail(encoder, f"{call} of {count} inputs gave shape {vectors.shape}, not ({count}, {encoder.dim}); "
                             f"set `dim` to the size of what the forward method returns")
    if not np.isfinite(vectors).all():
        raise _fail(encoder, f"{call} gave NaN or infinite values")
    norms = np.linalg.norm(vectors, axis=1)
    if count and not np.allclose(norms, 1.0, atol=1e-5, rtol=1e-7):
        raise _fail(encoder, f"{call} gave vectors of length {norms.min():.6f} to {norms.max():.6f}, not 1; "
                             f"leave the normalisation to Encoder")


def check_record(encoder: Encoder) -> Outcome:
    """The record names the encoder, its dim, modality and precision, and reads back unchanged from JSON and from
    the store's metadata (what `embedkit collections` shows and search rebuilds the encoder from)."""
    from embedkit.store.schema import record_document, stored_record

    record = encoder.record
    if encoder.dim < 1:
        raise _fail(encoder, f"dim is {encoder.dim}; set the class attribute `dim` (or pass a record with it)")
    if encoder.modality not in ("image", "text", "image+text"):
        raise _fail(encoder, f"modality {encoder.modality!r} is none of 'image', 'text', 'image+text'")
    made = (record.encoder, record.dim, record.modality, record.precision)
    if made != (encoder.name, encoder.dim, encoder.modality, encoder.precision):
        raise _fail(encoder, f"its record says (name, dim, modality, precision) = {made}, the encoder "
                             f"{(encoder.name, encoder.dim, encoder.modality, encoder.precision)}")
    if VectorRecord.from_json(json.loads(json.dumps(record.to_json()))) != record:
        raise _fail(encoder, "its record does not read back unchanged from JSON: keep `details` to JSON values")
    stored = stored_record(json.loads(json.dumps(record_document(record))))
    if stored.differences(record):
        raise _fail(encoder, f"the store reads its record back different in {', '.join(stored.differences(record))}")
    return None


def check_vectors(encoder: Encoder, images: Sequence[Image.Image], batch_size: int = 8) -> Outcome:
    """Images give float32 rows of the declared `dim`, finite and of unit length."""
    if not encoder.embeds_images:
        return f"{encoder.name} embeds text only"
    _check_rows(encoder, encoder.encode_images(images, batch_size=batch_size), len(images), "encode_images")
    return None


def check_deterministic(encoder: Encoder, images: Sequence[Image.Image]) -> Outcome:
    """The same images give the same vectors, bit for bit."""
    if not encoder.embeds_images:
        return f"{encoder.name} embeds text only"
    first, second = encoder.encode_images(images), encoder.encode_images(images)
    if not np.array_equal(first, second):
        raise _fail(encoder, f"the same images gave vectors that differ by up to {np.abs(first - second).max():.2e}; "
                             f"use Encoder.prepare (eval mode) and seed what is random")
    return None


def check_batch_size(encoder: Encoder, images: Sequence[Image.Image], atol: float = 2e-4) -> Outcome:
    """Embedding the images one by one or all at once gives the same vectors."""
    if not encoder.embeds_images:
        return f"{encoder.name} embeds text only"
    one_by_one = encoder.encode_images(images, batch_size=1)
    all_at_once = encoder.encode_images(images, batch_size=len(images))
    if not np.allclose(one_by_one, all_at_once, atol=atol, rtol=1e-7):
        raise _fail(encoder, f"the batch size changes the vectors by up to {np.abs(one_by_one - all_at_once).max():.2e}"
                             f" (tolerance {atol}); an image's vector must not depend on the others in its batch")
    return None


def check_empty_input(encoder: Encoder) -> Outcome:
    """No inputs give an empty (0, dim) array, for each modality the encoder embeds."""
    for embeds, encode, call in ((encoder.embeds_images, encoder.encode_images, "encode_images"),
                                 (encoder.embeds_text, encoder.encode_texts, "encode_texts")):
        if embeds:
            _check_rows(encoder, encode([]), 0, f"{call}([])")
    return None


def check_preprocess(encoder: Encoder, image: Image.Image) -> Outcome:
    """`preprocess` turns a PIL image into a CHW tensor with 3 channels, and pickles (DataLoader workers run it)."""
    if not encoder.embeds_images:
        return f"{encoder.name} embeds text only"
    tensor = encoder.preprocess(image)
    if not isinstance(tensor, torch.Tensor) or tensor.dim() != 3 or tensor.shape[0] != 3:
        shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise _fail(encoder, f"preprocess gave {shape}, not a (3, height, width) tensor")
    try:
        pickle.dumps(encoder.preprocess)
    except Exception as error:
        raise _fail(encoder, f"preprocess cannot be pickled ({type(error).__name__}: {error}); DataLoader workers "
                             f"run it: make it a method of a module-level class or a module-level callable") from error
    return None


def check_preprocessing_matches_record(encoder: Encoder, image: Image.Image) -> Outcome:
    """What `preprocess` does is the transform the record's Preprocessing describes: what is stored is what runs."""
    if not encoder.embeds_images:
        return f"{encoder.name} embeds text only"
    preprocessing = encoder.record.preprocessing
    if encoder.record.members:
        return "an ensemble packs its members' preprocessing; each member is checked on its own"
    if preprocessing is None:
        return "its record holds no preprocessing, so a change of it goes unnoticed (see docs/plugins.md)"
    try:
        torch.testing.assert_close(encoder.preprocess(image), preprocessing.transform()(image))
    except AssertionError as error:
        raise _fail(encoder, f"preprocess is not the transform its record describes ({preprocessing}): "
                             f"{str(error).splitlines()[0]}; use record.preprocessing.transform()") from error
    return None


def _refuses(encoder: Encoder, call: Callable[[], Any], error: type[Exception], promise: str) -> None:
    try:
        call()
    except error:
        return
    except Exception as other:
        raise _fail(encoder, f"{promise} should raise {error.__name__}, not {type(other).__name__}: {other}") from other
    raise _fail(encoder, f"{promise} should raise {error.__name__}, and did not")


def check_modality(encoder: Encoder, image: Image.Image) -> Outcome:
    """A modality the encoder lacks is refused with the error that names it; `encode` takes the modality it has without
    being told, and asks to be told when it has both."""
    if not encoder.embeds_text:
        _refuses(encoder, lambda: encoder.encode_texts(["a cat"]), TextNotSupportedError, "encode_texts")
        _refuses(encoder, lambda: encoder.encode(["a cat"], modality="text"), TextNotSupportedError,
                 "encode(texts, modality='text')")
    if not encoder.embeds_images:
        _refuses(encoder, lambda: encoder.encode_images([image]), ImagesNotSupportedError, "encode_images")
    if encoder.modality == "image+text":
        _refuses(encoder, lambda: encoder.encode([image]), InvalidOptionError, "encode without modality=")
        return None
    inputs: list[Any] = [image] if encoder.embeds_images else ["a cat"]
    direct = encoder.encode_images(inputs) if encoder.embeds_images else encoder.encode_texts(inputs)
    if not np.array_equal(encoder.encode(inputs), direct):
        raise _fail(encoder, "encode without modality= gives other vectors than the call for its one modality")
    return None


def check_texts(encoder: Encoder, texts: Sequence[str] = TEXTS, atol: float = 2e-4) -> Outcome:
    """Texts give unit float32 rows of the declared `dim`, whatever the batch size."""
    if not encoder.embeds_text:
        return f"{encoder.name} embeds images only"
    vectors = encoder.encode_texts(list(texts), batch_size=2)
    _check_rows(encoder, vectors, len(texts), "encode_texts")
    all_at_once = encoder.encode_texts(list(texts), batch_size=len(texts))
    if not np.allclose(vectors, all_at_once, atol=atol, rtol=1e-7):
        raise _fail(encoder, f"the batch size changes the text vectors by up to {np.abs(vectors - all_at_once).max():.2e}")
    return None


def check_rebuild(encoder: Encoder, image: Image.Image) -> Outcome:
    """The registry creates the same encoder again from its record, as search does from a collection's record: the
    same vector name, the same record, the same vectors."""
    from embedkit.encoders.rebuild import encoder_from_record

    try:
        rebuilt = encoder_from_record(encoder.record, device=str(encoder.device), precision=encoder.precision)
    except EmbedkitError as error:
        raise _fail(encoder, f"cannot be created again from its record ({error}); register its name, and the "
                             f"architecture (the name before '.') as an alias so that NAME.random resolves") from error
    if rebuilt.vector_name != encoder.vector_name or rebuilt.record.differences(encoder.record):
        raise _fail(encoder, f"its record creates {rebuilt.vector_name}, which differs in "
                             f"{rebuilt.record.differences(encoder.record) or 'its vector name'}")
    if encoder.embeds_images:
        ours, theirs = encoder.encode_images([image]), rebuilt.encode_images([image])
    else:
        ours, theirs = encoder.encode_texts(["a cat"]), rebuilt.encode_texts(["a cat"])
    if not np.allclose(ours, theirs, atol=1e-5, rtol=1e-7):
        raise _fail(encoder, f"the encoder its record creates gives other vectors (by up to "
                             f"{np.abs(ours - theirs).max():.2e}); pass every option that changes them through the record")
    return None


def check_registration(name: str, encoder: Encoder) -> Outcome:
    """What `name` registered (`record=`, or `dim=`/`modality=`/`weights=`) is what the encoder built from it records."""
    entry = encoder_entry(split_checkpoint(name)[0])  # `tiny_cnn.ckpt-1a2b3c4d` was loaded into `tiny_cnn`
    registered = entry_record(entry)
    if registered.modality != encoder.modality:
        raise _fail(encoder, f"{entry.name} is registered as {registered.modality}, but the encoder embeds "
                             f"{encoder.modality}")
    if entry.is_family:
        if registered.dim != 0 or not encoder.name.startswith(entry.name):
            raise _fail(encoder, f"a family ({entry.name}) registers dim 0 and names its encoders {entry.name}...")
        return None
    options = (encoder.record.layer, encoder.record.image_size)
    if options != (registered.layer, registered.image_size):
        pass  # built with another layer or input size than the registered record's: it describes another variant
    elif encoder.record.weights == registered.weights:  # built with the registered weights: the whole record
        if registered.differences(encoder.record):
            raise _fail(encoder, f"{entry.name}'s registered record differs from the built encoder's in "
                                 f"{', '.join(registered.differences(encoder.record))}")
    elif (registered.dim, registered.layer) != (encoder.dim, encoder.record.layer):
        raise _fail(encoder, f"{entry.name} is registered with (dim, layer) {(registered.dim, registered.layer)}, "
                             f"the encoder has {(encoder.dim, encoder.record.layer)}")
    if encoder.name.split(".")[0] != entry.name.split(".")[0]:
        raise _fail(encoder, f"is registered as {entry.name}; name it the same architecture.weights_tag")
    return None


def check_encoder(encoder: Encoder, images: Sequence[Image.Image] | None = None, *,
                  registered: bool = True) -> dict[str, str]:
    """Every check on `encoder`: {check: "passed" or the reason it did not apply}; the first broken promise raises
    ContractError. `registered=False` leaves out the checks that create it by name (an encoder no plugin registers)."""
    images = list(images) if images is not None else sample_images()
    checks: list[tuple[str, Callable[[], Outcome]]] = [
        ("record", lambda: check_record(encoder)),
        ("vectors", lambda: check_vectors(encoder, images)),
        ("deterministic", lambda: check_deterministic(encoder, images[:2])),
        ("batch_size", lambda: check_batch_size(encoder, images)),
        ("empty_input", lambda: check_empty_input(encoder)),
        ("preprocess", lambda: check_preprocess(encoder, images[0])),
        ("preprocessing_matches_record", lambda: check_preprocessing_matches_record(encoder, images[0])),
        ("modality", lambda: check_modality(encoder, images[0])),
        ("texts", lambda: check_texts(encoder)),
    ]
    if registered:
        checks += [("rebuild", lambda: check_rebuild(encoder, images[1])),
                   ("registration", lambda: check_registration(encoder.name, encoder))]
    return {name: check() or "passed" for name, check in checks}


def _skip_unless_held(outcome: Outcome) -> None:
    if outcome is not None:
        import pytest

        pytest.skip(outcome)


class EncoderContract:
    """Every check as a pytest test: subclass it (a `Test...` class) and give it an `encoder` fixture (a module-level
    one, parametrised to check several encoders).

    Set `registered = False` for an encoder no plugin registers; override `images` to check on your own images.
    """

    registered = True

    def images(self) -> list[Image.Image]:
        return sample_images()

    def test_its_record_describes_it_and_reads_back_from_the_store(self, encoder: Encoder) -> None:
        _skip_unless_held(check_record(encoder))

    def test_vectors_are_unit_float32_rows_of_the_declared_dimension(self, encoder: Encoder) -> None:
        _skip_unless_held(check_vectors(encoder, self.images()))

    def test_the_same_images_give_the_same_vectors(self, encoder: Encoder) -> None:
        _skip_unless_held(check_deterministic(encoder, self.images()[:2]))

    def test_the_batch_size_does_not_change_the_vectors(self, encoder: Encoder) -> None:
        _skip_unless_held(check_batch_size(encoder, self.images()))

    def test_an_empty_input_gives_an_empty_array(self, encoder: Encoder) -> None:
        _skip_unless_held(check_empty_input(encoder))

    def test_images_are_preprocessed_to_a_picklable_chw_tensor(self, encoder: Encoder) -> None:
        _skip_unless_held(check_preprocess(encoder, self.images()[0]))

    def test_image_preprocessing_is_the_transform_the_record_describes(self, encoder: Encoder) -> None:
        _skip_unless_held(check_preprocessing_matches_record(encoder, self.images()[0]))

    def test_a_modality_it_lacks_is_refused_and_its_own_is_the_default(self, encoder: Encoder) -> None:
        _skip_unless_held(check_modality(encoder, self.images()[0]))

    def test_text_vectors_are_unit_float32_rows_whatever_the_batch_size(self, encoder: Encoder) -> None:
        _skip_unless_held(check_texts(encoder))

    def test_the_record_creates_the_same_encoder_again(self, encoder: Encoder) -> None:
        _skip_unless_held("not registered" if not self.registered else check_rebuild(encoder, self.images()[1]))

    def test_the_registered_record_matches_the_built_encoder(self, encoder: Encoder) -> None:
        _skip_unless_held("not registered" if not self.registered else check_registration(encoder.name, encoder))


__all__ = ["TEXTS", "ContractError", "EncoderContract", "check_batch_size", "check_deterministic",
           "check_empty_input", "check_encoder", "check_modality", "check_preprocess",
           "check_preprocessing_matches_record", "check_rebuild", "check_record", "check_registration", "check_texts",
           "check_vectors", "sample_images"]
