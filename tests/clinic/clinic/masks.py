"""The clinic's own masking transform, registered through echelon-seed's generators API."""

from __future__ import annotations

from echelon_seed.generators import Draw, register_mask


@register_mask("clinic.badge")
def badge(value: object, draw: Draw) -> str:
    return f"B-{draw.integer(0, 99_999):05d}"


@register_mask("clinic.jam")
def jam(value: object, draw: Draw) -> str:
    """A transform with a bug, for the test that a traceback never shows the key."""
    raise RuntimeError(f"badge printer jammed on {draw.integer(0, 9)}")
