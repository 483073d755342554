"""What names a cache entry: everything the generated rows, in the engine's stored form, follow from.

The fixture digest already covers the fixture files, the generators' code
and their version; the key adds the scale, the engine (and PostgreSQL's
major version, whose binary COPY format the entry holds), the schema's
fingerprint and the generated tables' columns, echelon-seed's own version
and code (its types decide the stored form), and the anchor, unless every
generator of the entry declares that the anchor only shifts its times.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from echelon_seed.version import __version__

from .store import FORMAT

__all__ = ["key", "tool_code"]

_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def tool_code() -> str:
    """A digest of echelon-seed's own modules: a changed adapter is another stored form, so another key."""
    hasher = hashlib.blake2b(digest_size=16)
    for path in sorted(_PACKAGE.rglob("*.py")):
        hasher.update(str(path.relative_to(_PACKAGE)).encode() + b"\0")
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def key(
    *,
    project: str,
    fingerprint: str,
    fixture_digest: str,
    scale: int,
    engine: str,
    server: str,
    tables: Sequence[Table],
    anchor: datetime | None,
) -> tuple[str, Mapping[str, Any]]:
    """The entry's key (hex) and the summary it is listed by; `anchor` None when the anchor only shifts times."""
    material = {
        "format": FORMAT,
        "tool": __version__,
        "code": tool_code(),
        "project": project,
        "fingerprint": fingerprint,
        "fixtures": fixture_digest,
        "scale": scale,
        "engine": engine,
        "server": server,
        "tables": [[t.name, [c.name for c in t.columns]] for t in tables],  # their types: in the fingerprint
        "anchor": None if anchor is None else anchor.isoformat(),
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"))
    digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    summary = {
        "project": project,
        "fixtures": fixture_digest,
        "scale": scale,
        "engine": f"{engine} {server}".strip(),
        "tables": [t.name for t in tables],
        "anchor": "shifted" if anchor is None else anchor.isoformat(),
    }
    return digest, summary
