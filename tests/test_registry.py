from __future__ import annotations

import logging

import pytest

from embedkit.errors import UnknownNameError
from embedkit.registry import Registry


def make_registry() -> Registry[str]:
    registry: Registry[str] = Registry("widget")
    registry.register("resnet50.imagenet1k_v2", lambda **options: f"resnet50 {options}", aliases=("resnet50",), dim=2048)
    registry.register("resnet50.imagenet1k_v1", lambda **options: "resnet50 v1")
    registry.register("vgg16.imagenet1k_v1", lambda **options: "vgg16", aliases=("vgg16",))
    registry.register("clip:", lambda argument, **options: f"clip {argument}")
    return registry


def test_an_alias_and_the_full_name_create_the_same_thing():
    registry = make_registry()
    assert registry.create("resnet50", layer="pool") == registry.create("resnet50.imagenet1k_v2", layer="pool")
    assert registry.resolve("resnet50")[0].info["dim"] == 2048


def test_a_family_prefix_passes_the_rest_of_the_name_to_its_factory():
    registry = make_registry()
    assert registry.create("clip:ViT-B-32/openai") == "clip ViT-B-32/openai"


def test_an_unknown_name_lists_the_closest_names():
    registry = make_registry()
    with pytest.raises(UnknownNameError) as raised:
        registry.resolve("resnet5")
    message = str(raised.value)
    assert "unknown widget 'resnet5'" in message
    assert "'resnet50'" in message
    assert "vgg16" not in message


def test_an_unknown_name_with_nothing_close_points_to_the_listing_command():
    with pytest.raises(UnknownNameError, match="embedkit widgets"):
        make_registry().resolve("zzzzzz")


def test_globs_match_names_and_aliases_case_insensitively():
    registry = make_registry()
    assert [e.name for e in registry.entries("RESNET*")] == ["resnet50.imagenet1k_v1", "resnet50.imagenet1k_v2"]
    assert [e.name for e in registry.entries("vgg16")] == ["vgg16.imagenet1k_v1"]
    assert len(registry.entries()) == 4


def test_the_first_registration_of_a_name_wins(caplog):
    registry = make_registry()
    with caplog.at_level(logging.WARNING):
        registry.register("vgg16.imagenet1k_v1", lambda **options: "impostor")
    assert registry.create("vgg16") == "vgg16"
    assert "registered twice" in caplog.text


def test_registration_is_lazy_and_runs_once():
    calls = []

    def load(registry):
        calls.append(1)
        registry.load_from("my-plugin", lambda register: register("thing.v1", lambda **o: "thing"))

    registry: Registry[str] = Registry("thing", load)
    assert calls == []
    assert registry.create("thing.v1") == "thing"
    assert registry.entries()[0].plugin == "my-plugin"
    assert calls == [1]


def test_an_option_the_factory_does_not_take_is_named():
    from embedkit.errors import InvalidOptionError

    registry = make_registry()
    registry.register("plain.v1", lambda device="cpu": "plain")
    with pytest.raises(InvalidOptionError, match="widget 'plain.v1' cannot take these options.*layer"):
        registry.create("plain.v1", layer="fc2")


def test_a_glob_lists_an_entry_by_its_name_or_any_alias_and_shows_the_aliases_it_matched():
    registry: Registry[str] = Registry("widget")
    registry.register("resnet50.imagenet1k_v2", lambda **options: "resnet50", aliases=("resnet50", "resnet-50"))
    registry.register("clip:", lambda argument, **options: argument,
                      aliases=("clip:RN50/openai", "clip:ViT-B-32/openai", "clip:ViT-B-32/laion2b"))
    (family,) = registry.entries("CLIP:vit-b-32*")
    assert family.aliases_matching("CLIP:vit-b-32*") == ("clip:ViT-B-32/openai", "clip:ViT-B-32/laion2b")
    assert family.aliases_matching("clip*") == family.aliases  # the name matches: every alias
    assert family.aliases_matching(None) == family.aliases
    (resnet,) = registry.entries("resnet50")
    assert resnet.name == "resnet50.imagenet1k_v2" and resnet.aliases_matching("resnet50") == ("resnet50",)
    assert registry.entries("nothing*") == []


def test_close_matches_can_be_asked_to_be_closer():
    registry = make_registry()
    assert registry.close_matches("resnt") == ["resnet50"]
    assert registry.close_matches("vg", cutoff=0.9) == []
