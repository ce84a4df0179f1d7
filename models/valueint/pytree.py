"""Frozen dataclasses registered as JAX pytrees (static fields stay out of the leaves)."""

from __future__ import annotations

import dataclasses

import jax


def static_field(**kwargs):
    """A dataclass field that is part of the pytree's structure, not a leaf."""
    return dataclasses.field(metadata={"static": True}, **kwargs)


def pytree_dataclass(cls):
    """Make ``cls`` a frozen dataclass whose non-static fields are pytree leaves.

    Parameters and states built this way can be ``vmap``-ed over, stacked with
    ``jax.tree.map`` and passed through ``jit`` like any array.
    """
    cls = dataclasses.dataclass(frozen=True)(cls)
    fields = dataclasses.fields(cls)
    data = [f.name for f in fields if not f.metadata.get("static", False)]
    meta = [f.name for f in fields if f.metadata.get("static", False)]
    cls.replace = lambda self, **changes: dataclasses.replace(self, **changes)
    return jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)
