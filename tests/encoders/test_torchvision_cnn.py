"""Encoder options and behaviour: layers, image size, precision, devices, modality errors."""

from __future__ import annotations

import numpy as np
import pytest
import torchvision

from embedkit import get_encoder, list_encoders
from embedkit.encoders import entry_record
from embedkit.errors import InvalidOptionError, TextNotSupportedError


def test_the_four_cnns_are_registered_with_their_imagenet_tags():
    names = {entry.name: entry for entry in list_encoders()}
    expected = {"densenet121": 1024, "resnet50": 2048, "vgg16": 512, "mobilenet_v2": 1280}
    for alias, dim in expected.items():
        entry = next(e for e in names.values() if alias in e.aliases)
        assert entry.name.startswith(f"{alias}.imagenet1k_")
        assert entry_record(entry).dim == dim
    assert "resnet50.imagenet1k_v1" in names and "resnet50.imagenet1k_v2" in names


def test_vgg16_offers_the_4096d_fc2_layer_of_the_classic_scripts(photos):
    encoder = get_encoder("vgg16.random", layer="fc2", image_size=32, device="cpu")
    vectors = encoder.encode_images([photos["cat"], photos["coffee"]])
    assert vectors.shape == (2, 4096)
    assert encoder.record.layer == "fc2"


def test_an_unknown_layer_names_the_ones_there_are():
    with pytest.raises(InvalidOptionError, match="pool, fc2"):
        get_encoder("vgg16.random", layer="fc7")


def test_small_inputs_for_cifar_sized_images(photos):
    encoder = get_encoder("mobilenet_v2.random", image_size=32, device="cpu")
    assert encoder.preprocess(photos["cat"]).shape == (3, 32, 32)
    assert encoder.encode_images([photos["cat"]]).shape == (1, 1280)


def test_default_preprocessing_comes_from_the_weights():
    encoder = get_encoder("resnet50.imagenet1k_v2", device="cpu", weights="random")
    expected = torchvision.models.ResNet50_Weights.IMAGENET1K_V2.transforms()
    preprocessing = encoder.record.preprocessing
    assert (preprocessing.resize, preprocessing.crop) == (expected.resize_size[0], expected.crop_size[0]) == (232, 224)
    assert preprocessing.mean == tuple(expected.mean) and preprocessing.interpolation == "bilinear"


def test_random_weights_show_in_the_name():
    assert get_encoder("densenet121.random", device="cpu").name == "densenet121.random"
    assert get_encoder("efficientnet-lite0.random", device="cpu").name == "efficientnet_lite0.random"


def test_bf16_vectors_stay_close_to_fp32(photos):
    images = [photos["cat"], photos["coffee"]]
    fp32 = get_encoder("efficientnet-lite0", device="cpu", precision="fp32").encode_images(images)
    bf16 = get_encoder("efficientnet-lite0", device="cpu", precision="bf16").encode_images(images)
    assert bf16.dtype == np.float32
    assert (fp32 * bf16).sum(1).min() > 0.98


def test_unknown_precision_and_missing_gpu_are_clear_errors():
    with pytest.raises(InvalidOptionError, match="fp32, fp16, bf16"):
        get_encoder("mobilenet_v2.random", precision="int3")
    with pytest.raises(InvalidOptionError, match="unknown device"):
        get_encoder("mobilenet_v2.random", device="tpu:9")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is present")
def test_asking_for_cuda_without_a_gpu_says_to_use_the_cpu():
    with pytest.raises(InvalidOptionError, match="--device cpu"):
        get_encoder("mobilenet_v2.random", device="cuda")


def test_text_to_an_image_encoder_is_refused_with_a_hint():
    encoder = get_encoder("mobilenet_v2.random", device="cpu")
    with pytest.raises(TextNotSupportedError, match="images only"):
        encoder.encode_texts(["a photo of a cat"])


def test_variants_that_change_the_vectors_get_their_own_vector_name():
    assert get_encoder("vgg16.random").vector_name == "vgg16.random"
    assert get_encoder("vgg16.random", layer="fc2", image_size=32).vector_name == "vgg16.random-fc2-32px"
    assert get_encoder("efficientnet-lite0").vector_name == "efficientnet_lite0.imagenet1k"


def test_random_weights_are_the_same_on_every_run(photos):
    first = get_encoder("mobilenet_v2.random", image_size=64).encode_images([photos["cat"]])
    second = get_encoder("mobilenet_v2.random", image_size=64).encode_images([photos["cat"]])
    np.testing.assert_array_equal(first, second)


def test_the_name_a_random_encoder_shows_creates_it_again():
    encoder = get_encoder("mobilenet_v2.random", image_size=32)
    assert encoder.name == "mobilenet_v2.random"
    assert get_encoder(encoder.name).record.weights == "random"


def test_the_written_out_weights_are_torchvisions_own():
    from embedkit.encoders.builtin.torchvision_cnn_pretrained import BACKBONES
    from embedkit.records import Preprocessing

    for backbone in BACKBONES:
        enum = torchvision.models.get_model_weights(backbone.arch)
        assert [weights.tag for weights in backbone.weights] == [member.name.lower() for member in enum]
        assert backbone.default == enum.DEFAULT.name.lower()
        for written, member in zip(backbone.weights, enum):
            recipe = member.transforms()
            assert written.url == member.url, member
            assert written.preprocessing(None) == Preprocessing(
                recipe.resize_size[0], recipe.crop_size[0], recipe.interpolation.value, tuple(recipe.mean),
                tuple(recipe.std)), member
