"""The one registry pattern: names once, clear errors, shipped entries always found."""

from __future__ import annotations

import subprocess
import sys

import pytest

from valueint.errors import ConfigError
from valueint.registry import Registry


def test_register_get_and_names():
    worlds = Registry("world")
    worlds.register("b", 2)
    worlds.register("a", 1)
    assert worlds.get("a") == 1 and worlds["b"] == 2
    assert worlds.names() == ("a", "b") and list(worlds) == ["b", "a"]
    assert "a" in worlds and len(worlds) == 2


def test_a_name_is_registered_once():
    worlds = Registry("world")
    worlds.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        worlds.register("a", 2)
    with pytest.raises(ValueError, match="non-empty string"):
        worlds.register("", 3)


def test_unknown_names_list_the_known_ones_with_the_chosen_error():
    worlds = Registry("world", error=ConfigError)
    worlds.register("gridworld", 1)
    with pytest.raises(
        ConfigError, match=r"env.name = 'grid' is not a known world; known: gridworld"
    ):
        worlds.get("grid", where="env.name")


def test_shipped_models_are_found_whatever_was_imported_first():
    """The trial models register themselves in valueint.trials.catalogue; a lookup through
    valueint.trials.specs alone still finds them (in a fresh interpreter)."""
    code = "from valueint.trials.specs import get_spec, registered; print(get_spec('rw').name, len(registered()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    name, count = done.stdout.split()
    assert name == "rw" and int(count) >= 7
